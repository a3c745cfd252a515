-- 制度抚养比 (在职/退休) per region over all age bands, from gold.age_structure.
CREATE OR REPLACE VIEW lakehouse.gold.dependency_ratio_by_region AS
WITH by_region AS (
    SELECT
        as_of,
        region,
        sum(contributors) AS contributors,
        sum(pensioners) AS pensioners
    FROM lakehouse.gold.age_structure
    GROUP BY as_of, region
)

SELECT
    as_of,
    region,
    contributors,
    pensioners,
    round(cast(contributors AS double) / nullif(pensioners, 0), 3) AS dependency_ratio
FROM by_region
