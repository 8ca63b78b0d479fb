-- Revert 20251123_153004: drop the fraud prevention tables (their indexes go with them).
DROP TABLE rate_limits;
DROP TABLE fraud_detection;
