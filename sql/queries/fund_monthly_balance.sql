-- Monthly income, expenditure and balance per insurance scheme, with the running balance.
-- Run: lakehouse trino sql -f sql/queries/fund_monthly_balance.sql
WITH monthly AS (
    SELECT
        month,
        month_label,
        scheme,
        scheme_name,
        sum(income_yuan) AS income_yuan,
        sum(expenditure_yuan) AS expenditure_yuan
    FROM lakehouse.gold.fund_monthly
    GROUP BY month, month_label, scheme, scheme_name
)

SELECT
    month_label,
    scheme,
    scheme_name,
    income_yuan,
    expenditure_yuan,
    income_yuan - expenditure_yuan AS balance_yuan,
    sum(income_yuan - expenditure_yuan) OVER (
        PARTITION BY scheme ORDER BY month
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS cumulative_balance_yuan
FROM monthly
ORDER BY scheme, month
