{#- The one definition of a purchase: an order in one of grading.yml's purchase_statuses (`statuses`: the settings'
    list column) and of a positive value (a zero-price invoice, a free sample or replacement, is an order, not a
    purchase). int_orders.is_purchase (fct_customer, fct_orders, the effects) and the grades
    (int_grading__purchases, under a variant spec its own statuses) both say it through this macro. -#}
{% macro is_purchase(status, gross_amount, statuses) -%}
    ({{ list_has(statuses, status) }} and {{ gross_amount }} > 0)
{%- endmacro %}
