-- Every interaction (call, e-mail, chat, WeChat, web visit, contact form, ...) with its customer.
-- A projection of a model built per customer: a view, so a nightly run copies nothing.
{{ config(materialized='view') }}

with

interactions as (

    select * from {{ ref('int_interactions') }}

),

final as (

    select
        source_name,
        interaction_id,
        customer_key,
        channel,
        direction,
        outcome,
        duration_seconds,
        occurred_at,
        occurred_date
    from interactions

)

select * from final
