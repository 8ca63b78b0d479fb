-- Revert 20251124_092000: drop the refresh function and the three dashboard
-- materialized views (their indexes go with them).
DROP FUNCTION refresh_dashboard_materialized_views();
DROP MATERIALIZED VIEW mv_supplier_awards;
DROP MATERIALIZED VIEW mv_procuring_entity_spend;
DROP MATERIALIZED VIEW mv_tenders_by_cpv_division_month;
