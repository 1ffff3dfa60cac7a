{#- An 11-digit mainland mobile number from any spelling (+86 138-1234-5678, 8613812345678), else null.
    Masked numbers (138****1234) are not usable as identifiers and give null. -#}
{% macro normalize_cn_mobile(column) -%}
    case
        when regexp_full_match(
            regexp_replace(regexp_replace({{ column }}, '[^0-9*]', '', 'g'), '^(0086|86)(1[0-9]{10})$', '\2'),
            '1[3-9][0-9]{9}'
        )
            then regexp_replace(regexp_replace({{ column }}, '[^0-9*]', '', 'g'), '^(0086|86)(1[0-9]{10})$', '\2')
    end
{%- endmacro %}
