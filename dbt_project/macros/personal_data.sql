{#-
  Personal data in the bi schema. Each personal column of a bi model goes through personal(); crmgrade.yml
  serving.unmasked_columns (dbt var bi_unmasked) lists the table.column pairs BI may see in clear.
  pipeline/serving/masking.py names the same columns, for the config check and the tests.
-#}
{% macro personal(table, column, kind) -%}
    {%- if (table ~ '.' ~ column) in var('bi_unmasked', []) -%}
        {{ column }}
    {%- elif kind == 'phone' -%}
        {{ mask_phone(column) }}
    {%- elif kind == 'email' -%}
        {{ mask_email(column) }}
    {%- elif kind == 'name' -%}
        {{ mask_name(column) }}
    {%- elif kind == 'address' -%}
        {{ mask_address(column) }}
    {%- elif kind == 'hash' -%}
        {{ pii_hash(column, column) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("personal(): unknown kind '" ~ kind ~ "' for " ~ table ~ "." ~ column) }}
    {%- endif -%}
{%- endmacro %}

{#- +8613812345678 -> 138****5678 (a masked mobile keeps its form); other numbers keep their last 4 digits. -#}
{% macro mask_phone(column) -%}
    case
        when {{ column }} is null then null
        when regexp_matches({{ column }}, '^\+861[0-9]{2}[0-9*]{4}[0-9]{4}$')
            then substr({{ column }}, 4, 3) || '****' || right({{ column }}, 4)
        else repeat('*', greatest(length(regexp_replace({{ column }}, '[^0-9]', '', 'g')) - 4, 0))
            || right({{ column }}, 4)
    end
{%- endmacro %}

{#- wang.fang@x.com -> w***@x.com -#}
{% macro mask_email(column) -%}
    regexp_replace({{ column }}, '^(.)[^@]*@', '\1***@')
{%- endmacro %}

{#- 张三 -> 张*, 欧阳娜娜 -> 欧*** -#}
{% macro mask_name(column) -%}
    left({{ column }}, 1) || repeat('*', greatest(length({{ column }}) - 1, 0))
{%- endmacro %}

{#- The first 6 characters (province and city, in a Chinese address), then ***. -#}
{% macro mask_address(column) -%}
    left({{ column }}, 6) || '***'
{%- endmacro %}

{#-
  A join key in place of a personal value: SHA-256 over the salt, the kind and the value, in hex with the digits
  0-9 written as the letters g-p. Such a hash holds no digit, '+' or '@', so no phone, E.164 or e-mail pattern can
  match it: plain hex often holds a run of 11 digits that reads like a mobile number, and base64 did too at scale
  ('+09647822...' among 1.7M customers read as an E.164 number). In Python:
  hashlib.sha256(f"{salt}:{kind}:{value}".encode()).hexdigest().translate(str.maketrans("0123456789", "ghijklmnop"))
  The salt is in the working warehouse only (privacy.salt, from crmgrade.yml privacy.dir or $CRMGRADE_PRIVACY_SALT).
-#}
{% macro pii_hash(column, kind) -%}
    case when {{ column }} is not null then
        translate(
            sha256((select salt from {{ ref('stg_privacy__salt') }}) || ':{{ kind }}:' || cast({{ column }} as {{ dbt.type_string() }})),
            '0123456789',
            'ghijklmnop'
        )
    end
{%- endmacro %}
