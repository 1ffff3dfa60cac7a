-- What the grading reads of the customer fact table: the attributes a profile can match on and the columns a
-- dimension can score (dbt_project.yml vars). Kept run by run in the snapshot history.grading_input_customers
-- (snapshots/grading_inputs.yml); no as-of date here, or every row would change every day.
with

customers as (

    select * from {{ ref('fct_customer') }}

),

final as (

    select
        customer_key,
        lifetime_frequency,
        {{ (var('profile_attributes') + var('gradeable_indicators')) | join(',\n        ') }}
    from customers

)

select * from final
