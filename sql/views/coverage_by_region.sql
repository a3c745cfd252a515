-- 参保覆盖率 per 户籍 region (all age bands), from gold.coverage.
CREATE OR REPLACE VIEW lakehouse.gold.coverage_by_region AS
WITH by_region AS (
    SELECT
        as_of,
        region,
        sum(hukou_population) AS hukou_population,
        sum(insured) AS insured,
        sum(pension_insured) AS pension_insured,
        sum(medical_insured) AS medical_insured
    FROM lakehouse.gold.coverage
    GROUP BY as_of, region
)

SELECT
    as_of,
    region,
    hukou_population,
    insured,
    pension_insured,
    medical_insured,
    round(cast(insured AS double) / nullif(hukou_population, 0), 4) AS coverage_rate,
    hukou_population - insured AS uninsured
FROM by_region
