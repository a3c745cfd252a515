-- Latest month per region: payees per payer (dependency ratio) and expenditure per payee.
-- Run: lakehouse trino sql -f sql/queries/fund_payee_load_by_region.sql
WITH latest AS (
    SELECT max(month) AS latest_month
    FROM lakehouse.gold.fund_monthly
)

SELECT
    f.month_label,
    f.region,
    sum(f.payers) AS payers,
    sum(f.payees) AS payees,
    round(cast(sum(f.payees) AS double) / nullif(sum(f.payers), 0), 3) AS payees_per_payer,
    round(sum(f.expenditure_yuan) / nullif(sum(f.payees), 0), 2) AS expenditure_per_payee_yuan
FROM lakehouse.gold.fund_monthly AS f
INNER JOIN latest AS l ON f.month = l.latest_month
GROUP BY f.month_label, f.region
ORDER BY payees_per_payer DESC, f.region ASC
