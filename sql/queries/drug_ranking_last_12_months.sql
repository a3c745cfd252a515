-- Top 20 items by cost per list type over the last 12 months of data, with their volume.
-- Run: lakehouse trino sql -f sql/queries/drug_ranking_last_12_months.sql
WITH latest AS (
    SELECT max(month) AS latest_month
    FROM lakehouse.gold.drug_ranking
),

totals AS (
    SELECT
        d.list_type,
        d.list_type_name,
        d.med_list_codg,
        min(d.med_list_name) AS med_list_name,
        sum(d.cost_yuan) AS cost_yuan,
        sum(d.volume) AS volume,
        sum(d.settlements) AS settlements
    FROM lakehouse.gold.drug_ranking AS d
    INNER JOIN latest AS l ON d.month > l.latest_month - INTERVAL '12' MONTH
    GROUP BY d.list_type, d.list_type_name, d.med_list_codg
),

ranked AS (
    SELECT
        *,
        rank() OVER (PARTITION BY list_type ORDER BY cost_yuan DESC, med_list_codg ASC) AS cost_rank
    FROM totals
)

SELECT
    list_type_name,
    cost_rank,
    med_list_codg,
    med_list_name,
    cost_yuan,
    volume,
    settlements
FROM ranked
WHERE cost_rank <= 20
ORDER BY list_type_name, cost_rank
