-- Where coverage is lowest: 户籍 residents without insurance per region and age band.
-- Run: lakehouse trino sql -f sql/queries/coverage_gap_by_age.sql
WITH latest AS (
    SELECT max(as_of) AS as_of
    FROM lakehouse.gold.coverage
)

SELECT
    c.region,
    c.age_band_name,
    c.hukou_population,
    c.insured,
    c.coverage_rate,
    c.hukou_population - c.insured AS uninsured
FROM lakehouse.gold.coverage AS c
INNER JOIN latest AS l ON c.as_of = l.as_of
ORDER BY c.coverage_rate ASC, uninsured DESC, c.region ASC
