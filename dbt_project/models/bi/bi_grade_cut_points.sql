-- The cut points every graded day was scored by. No personal data.
with

grade_cut_points as (

    select * from {{ ref('grade_cut_points') }}

)

select * from grade_cut_points
