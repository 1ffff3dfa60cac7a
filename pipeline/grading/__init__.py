"""The grading engine's configuration: grading.yml, validated and written to the warehouse for dbt."""
