-- Revert 20251125_091000: remove the codes below those seeded by 20251124_090000
-- (the 45 divisions and the five groups of division 45), finest first.
-- Fails (ON DELETE RESTRICT) while tenders use them, which is intended: master
-- data in use is not silently removed.
DELETE FROM cpv_codes WHERE length(rtrim(code, '0')) >= 6;
DELETE FROM cpv_codes WHERE length(rtrim(code, '0')) = 5;
DELETE FROM cpv_codes WHERE length(rtrim(code, '0')) = 4;
DELETE FROM cpv_codes WHERE length(rtrim(code, '0')) = 3
    AND code NOT IN ('45100000', '45200000', '45300000', '45400000', '45500000');
