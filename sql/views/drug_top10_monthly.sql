-- The ten items with the highest cost, and the ten with the highest volume, per month and list type.
CREATE OR REPLACE VIEW lakehouse.gold.drug_top10_monthly AS
SELECT
    month,
    month_label,
    list_type,
    list_type_name,
    med_list_codg,
    med_list_name,
    cost_yuan,
    volume,
    items,
    settlements,
    cost_rank,
    volume_rank
FROM lakehouse.gold.drug_ranking
WHERE cost_rank <= 10 OR volume_rank <= 10
