-- 基金预测 fan chart: the latest 12-month forecast of gold.fund_forecast (all regions) with its 80 % and
-- 95 % prediction intervals, after the last 24 observed months of gold.fund_monthly. The last observed
-- month is repeated as the forecast's starting point (intervals of width 0) so the fan opens from it.
CREATE OR REPLACE VIEW lakehouse.gold.fund_forecast_fan AS
WITH latest AS (
    SELECT max(as_of) AS as_of
    FROM lakehouse.gold.fund_forecast
),

forecast AS (
    SELECT
        f.as_of,
        f.month,
        f.scheme,
        f.measure,
        f.yhat,
        f.lo_80,
        f.hi_80,
        f.lo_95,
        f.hi_95
    FROM lakehouse.gold.fund_forecast AS f
    INNER JOIN latest ON f.as_of = latest.as_of
    WHERE f.region = 'ALL'
),

starts AS (
    SELECT
        as_of,
        min(month) AS first_month
    FROM forecast
    GROUP BY as_of
),

monthly AS (
    SELECT
        month,
        scheme,
        cast(sum(income_yuan) AS double) AS income,
        cast(sum(expenditure_yuan) AS double) AS expenditure,
        max(scheme_name) AS scheme_name
    FROM lakehouse.gold.fund_monthly
    GROUP BY month, scheme
),

observed AS (
    SELECT
        starts.as_of,
        m.month,
        m.scheme,
        kinds.measure,
        if(kinds.measure = 'income', m.income, m.expenditure) AS actual,
        m.month = date_add('month', -1, starts.first_month) AS is_last
    FROM monthly AS m
    CROSS JOIN starts
    CROSS JOIN (VALUES 'income', 'expenditure') AS kinds (measure)
    WHERE
        m.month < starts.first_month
        AND m.month >= date_add('month', -24, starts.first_month)
),

fan AS (
    SELECT
        as_of,
        month,
        scheme,
        measure,
        actual,
        if(is_last, actual) AS yhat,
        if(is_last, actual) AS lo_80,
        if(is_last, actual) AS hi_80,
        if(is_last, actual) AS lo_95,
        if(is_last, actual) AS hi_95
    FROM observed
    UNION ALL
    SELECT
        as_of,
        month,
        scheme,
        measure,
        cast(NULL AS double) AS actual,
        yhat,
        lo_80,
        hi_80,
        lo_95,
        hi_95
    FROM forecast
),

names AS (
    SELECT DISTINCT
        scheme,
        scheme_name
    FROM monthly
)

SELECT
    fan.as_of,
    fan.month,
    fan.scheme,
    fan.measure,
    fan.actual,
    fan.yhat,
    fan.lo_80,
    fan.hi_80,
    fan.lo_95,
    fan.hi_95,
    coalesce(names.scheme_name, fan.scheme) AS scheme_name,
    if(fan.measure = 'income', '基金收入', '基金支出') AS measure_name
FROM fan
LEFT JOIN names ON fan.scheme = names.scheme
