-- Revision 20251124_092000: dashboard materialized views.
-- Three pre-aggregated views for the public dashboards: tenders per CPV division
-- and month, spend per procuring entity and year, awards per supplier and year.
-- Months and years are taken in Europe/Skopje time. Each view has a UNIQUE index
-- on plain columns covering every row, so it can be refreshed with
-- REFRESH MATERIALIZED VIEW CONCURRENTLY (readers are never blocked);
-- refresh_dashboard_materialized_views() refreshes all three that way.

CREATE MATERIALIZED VIEW mv_tenders_by_cpv_division_month AS
SELECT agg.cpv_division,
       coalesce(div.name_en, 'Unclassified') AS division_name,
       agg.month,
       agg.currency,
       agg.tender_count,
       agg.awarded_count,
       agg.cancelled_count,
       agg.procuring_entity_count,
       agg.total_estimated_value,
       agg.avg_estimated_value,
       agg.total_awarded_value
FROM (
    SELECT coalesce(left(t.cpv_code, 2), '00')::char(2)                              AS cpv_division,
           date_trunc('month', t.publication_date AT TIME ZONE 'Europe/Skopje')::date AS month,
           t.currency,
           count(*)                                                                   AS tender_count,
           count(*) FILTER (WHERE t.status IN ('awarded', 'completed'))               AS awarded_count,
           count(*) FILTER (WHERE t.status IN ('cancelled', 'unsuccessful'))          AS cancelled_count,
           count(DISTINCT t.procuring_entity_id)                                      AS procuring_entity_count,
           sum(t.estimated_value)                                                     AS total_estimated_value,
           round(avg(t.estimated_value), 2)                                           AS avg_estimated_value,
           sum(t.awarded_value)                                                       AS total_awarded_value
    FROM tenders t
    WHERE t.publication_date IS NOT NULL
    GROUP BY 1, 2, 3
) agg
LEFT JOIN LATERAL (
    SELECT d.name_en
    FROM cpv_codes d
    WHERE d.level = 1 AND d.division = agg.cpv_division
    ORDER BY d.code
    LIMIT 1
) div ON true
WITH DATA;

COMMENT ON MATERIALIZED VIEW mv_tenders_by_cpv_division_month IS
    'Dashboard: tenders per CPV division (00 = unclassified), publication month (Europe/Skopje) '
    'and currency, with counts and estimated/awarded totals. Refresh CONCURRENTLY.';

CREATE UNIQUE INDEX mv_tenders_by_cpv_division_month_key
    ON mv_tenders_by_cpv_division_month (cpv_division, month, currency);
CREATE INDEX mv_tenders_by_cpv_division_month_month_idx
    ON mv_tenders_by_cpv_division_month (month);

CREATE MATERIALIZED VIEW mv_procuring_entity_spend AS
SELECT o.id                                                                          AS procuring_entity_id,
       o.name                                                                        AS procuring_entity_name,
       o.tax_id,
       extract(year FROM t.publication_date AT TIME ZONE 'Europe/Skopje')::integer  AS year,
       t.currency,
       count(*)                                                                      AS tender_count,
       count(*) FILTER (WHERE t.awarded_value IS NOT NULL)                           AS awarded_count,
       sum(t.estimated_value)                                                        AS total_estimated_value,
       sum(t.awarded_value)                                                          AS total_awarded_value,
       count(DISTINCT t.winner_organization_id)                                      AS distinct_winner_count,
       max(t.publication_date)                                                       AS last_publication_date
FROM tenders t
JOIN organizations o ON o.id = t.procuring_entity_id
WHERE t.publication_date IS NOT NULL
GROUP BY o.id, 4, t.currency
WITH DATA;

COMMENT ON MATERIALIZED VIEW mv_procuring_entity_spend IS
    'Dashboard: spend per procuring entity, publication year (Europe/Skopje) and currency: '
    'tender count, estimated and awarded totals, distinct winners. Refresh CONCURRENTLY.';

CREATE UNIQUE INDEX mv_procuring_entity_spend_key
    ON mv_procuring_entity_spend (procuring_entity_id, year, currency);
CREATE INDEX mv_procuring_entity_spend_year_idx
    ON mv_procuring_entity_spend (year, total_awarded_value DESC);

CREATE MATERIALIZED VIEW mv_supplier_awards AS
SELECT o.id                                                                          AS supplier_id,
       o.name                                                                        AS supplier_name,
       o.tax_id,
       extract(year FROM t.publication_date AT TIME ZONE 'Europe/Skopje')::integer  AS year,
       coalesce(l.currency, t.currency)                                              AS currency,
       count(DISTINCT l.tender_id)                                                   AS tenders_participated,
       count(DISTINCT l.tender_id) FILTER (WHERE l.role = 'winner')                  AS tenders_won,
       sum(l.bid_amount) FILTER (WHERE l.role = 'winner')                            AS total_won_value,
       count(DISTINCT t.procuring_entity_id)                                         AS procuring_entity_count
FROM tender_entity_link l
JOIN tenders t ON t.tender_id = l.tender_id
JOIN organizations o ON o.id = l.organization_id
WHERE l.role IN ('bidder', 'winner', 'consortium_member')
  AND t.publication_date IS NOT NULL
GROUP BY o.id, 4, 5
WITH DATA;

COMMENT ON MATERIALIZED VIEW mv_supplier_awards IS
    'Dashboard: per supplier, publication year (Europe/Skopje) and currency: tenders bid on, '
    'tenders won and won value. Refresh CONCURRENTLY.';

CREATE UNIQUE INDEX mv_supplier_awards_key
    ON mv_supplier_awards (supplier_id, year, currency);
CREATE INDEX mv_supplier_awards_year_idx
    ON mv_supplier_awards (year, total_won_value DESC);

CREATE FUNCTION refresh_dashboard_materialized_views() RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_tenders_by_cpv_division_month;
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_procuring_entity_spend;
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_supplier_awards;
END;
$$;

COMMENT ON FUNCTION refresh_dashboard_materialized_views() IS
    'Refreshes every dashboard materialized view CONCURRENTLY (readers keep the old contents '
    'until each refresh commits). Run from a scheduler, e.g. every system_config '
    'dashboards.refresh.interval_minutes.';
