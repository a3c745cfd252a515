-- Expenditure per scheme and region with month-on-month and year-on-year change (percent).
-- Run: lakehouse trino sql -f sql/queries/fund_expenditure_growth.sql
WITH monthly AS (
    SELECT
        month,
        scheme_name,
        region,
        sum(expenditure_yuan) AS expenditure_yuan
    FROM lakehouse.gold.fund_monthly
    GROUP BY month, scheme_name, region
),

compared AS (
    SELECT
        cur.month,
        cur.scheme_name,
        cur.region,
        cur.expenditure_yuan,
        prev_month.expenditure_yuan AS previous_month_yuan,
        prev_year.expenditure_yuan AS previous_year_yuan
    FROM monthly AS cur
    LEFT JOIN monthly AS prev_month
        ON
            cur.scheme_name = prev_month.scheme_name
            AND cur.region = prev_month.region
            AND prev_month.month = cur.month - INTERVAL '1' MONTH
    LEFT JOIN monthly AS prev_year
        ON
            cur.scheme_name = prev_year.scheme_name
            AND cur.region = prev_year.region
            AND prev_year.month = cur.month - INTERVAL '1' YEAR
)

SELECT
    month,
    scheme_name,
    region,
    expenditure_yuan,
    round(100 * (cast(expenditure_yuan AS double) / nullif(previous_month_yuan, 0) - 1), 2) AS mom_change_pct,
    round(100 * (cast(expenditure_yuan AS double) / nullif(previous_year_yuan, 0) - 1), 2) AS yoy_change_pct
FROM compared
ORDER BY scheme_name, region, month
