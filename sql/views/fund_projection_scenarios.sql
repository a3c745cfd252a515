-- 情景对比: the latest gold.fund_projection over all regions (the pension fund is pooled by scheme), both
-- scenarios (reform as published / no reform) in one view, so a chart grouped by scenario puts them side by side.
-- `full_year`: the calendar year has all 12 projected months (the first and last years are partial, so yearly
-- sums of them would drop).
CREATE OR REPLACE VIEW lakehouse.gold.fund_projection_scenarios AS
WITH latest AS (
    SELECT max(as_of) AS as_of
    FROM lakehouse.gold.fund_projection
),

names AS (
    SELECT DISTINCT
        scheme,
        scheme_name
    FROM lakehouse.gold.fund_monthly
)

SELECT
    p.as_of,
    p.scenario,
    p.scenario_label,
    p.month,
    p.scheme,
    p.contributors,
    p.pensioners,
    p.contributions_yuan,
    p.pensions_yuan,
    p.balance_yuan,
    p.dependency_ratio,
    p.reserve_exhausted_year,
    coalesce(names.scheme_name, p.scheme) AS scheme_name,
    p.contributions_yuan - p.pensions_yuan AS net_flow_yuan,
    count(*) OVER (PARTITION BY p.scenario, p.scheme, year(p.month)) = 12 AS full_year
FROM lakehouse.gold.fund_projection AS p
INNER JOIN latest ON p.as_of = latest.as_of
LEFT JOIN names ON p.scheme = names.scheme
WHERE p.region = 'ALL'
