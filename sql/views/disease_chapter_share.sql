-- Per month: each ICD-10 chapter's share of cases and of fund pay, from gold.disease_monthly.
CREATE OR REPLACE VIEW lakehouse.gold.disease_chapter_share AS
SELECT
    month,
    month_label,
    chapter,
    chapter_no,
    chapter_name,
    cases,
    patients,
    total_cost_yuan,
    fund_pay_yuan,
    fund_share,
    round(cast(cases AS double) / nullif(sum(cases) OVER (PARTITION BY month), 0), 4) AS case_share_of_month,
    round(
        cast(fund_pay_yuan AS double) / nullif(sum(fund_pay_yuan) OVER (PARTITION BY month), 0), 4
    ) AS fund_pay_share_of_month
FROM lakehouse.gold.disease_monthly
