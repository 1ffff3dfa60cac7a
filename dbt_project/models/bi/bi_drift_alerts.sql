-- Drift alerts with their evidence. No personal data: customers are known by customer_key only.
with

drift_alerts as (

    select * from {{ ref('drift_alerts') }}

)

select * from drift_alerts
