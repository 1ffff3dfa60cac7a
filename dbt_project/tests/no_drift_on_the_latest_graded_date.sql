{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'drift_alerts'}}}) }}
-- Warns (never fails the run) when the latest graded date has drift alerts: the check's rows are the alerts.
select *
from {{ ref('drift_alerts') }}
where as_of_date = (select max(as_of_date) from {{ ref('grade_history') }})
