-- Revision 20251124_090000: seed CPV 2008 master data.
-- Inserts the 45 divisions of the Common Procurement Vocabulary (CPV 2008,
-- Commission Regulation (EC) No 213/2008) and the five groups of division 45
-- "Construction work", each with its official check digit. Idempotent: a
-- re-run updates names/hierarchy only where they differ and otherwise changes
-- nothing. Finer levels (classes, categories) are loaded by the data importer,
-- not by migrations.

INSERT INTO cpv_codes AS c (code, parent_code, level, name_en) VALUES
    ('03000000-1', NULL, 1, 'Agricultural, farming, fishing, forestry and related products'),
    ('09000000-3', NULL, 1, 'Petroleum products, fuel, electricity and other sources of energy'),
    ('14000000-1', NULL, 1, 'Mining, basic metals and related products'),
    ('15000000-8', NULL, 1, 'Food, beverages, tobacco and related products'),
    ('16000000-5', NULL, 1, 'Agricultural machinery'),
    ('18000000-9', NULL, 1, 'Clothing, footwear, luggage articles and accessories'),
    ('19000000-6', NULL, 1, 'Leather and textile fabrics, plastic and rubber materials'),
    ('22000000-0', NULL, 1, 'Printed matter and related products'),
    ('24000000-4', NULL, 1, 'Chemical products'),
    ('30000000-9', NULL, 1, 'Office and computing machinery, equipment and supplies except furniture and software packages'),
    ('31000000-6', NULL, 1, 'Electrical machinery, apparatus, equipment and consumables; lighting'),
    ('32000000-3', NULL, 1, 'Radio, television, communication, telecommunication and related equipment'),
    ('33000000-0', NULL, 1, 'Medical equipments, pharmaceuticals and personal care products'),
    ('34000000-7', NULL, 1, 'Transport equipment and auxiliary products to transportation'),
    ('35000000-4', NULL, 1, 'Security, fire-fighting, police and defence equipment'),
    ('37000000-8', NULL, 1, 'Musical instruments, sport goods, games, toys, handicraft, art materials and accessories'),
    ('38000000-5', NULL, 1, 'Laboratory, optical and precision equipments (excl. glasses)'),
    ('39000000-2', NULL, 1, 'Furniture (incl. office furniture), furnishings, domestic appliances (excl. lighting) and cleaning products'),
    ('41000000-9', NULL, 1, 'Collected and purified water'),
    ('42000000-6', NULL, 1, 'Industrial machinery'),
    ('43000000-3', NULL, 1, 'Machinery for mining, quarrying, construction equipment'),
    ('44000000-0', NULL, 1, 'Construction structures and materials; auxiliary products to construction (except electric apparatus)'),
    ('45000000-7', NULL, 1, 'Construction work'),
    ('48000000-8', NULL, 1, 'Software package and information systems'),
    ('50000000-5', NULL, 1, 'Repair and maintenance services'),
    ('51000000-9', NULL, 1, 'Installation services (except software)'),
    ('55000000-0', NULL, 1, 'Hotel, restaurant and retail trade services'),
    ('60000000-8', NULL, 1, 'Transport services (excl. Waste transport)'),
    ('63000000-9', NULL, 1, 'Supporting and auxiliary transport services; travel agencies services'),
    ('64000000-6', NULL, 1, 'Postal and telecommunications services'),
    ('65000000-3', NULL, 1, 'Public utilities'),
    ('66000000-0', NULL, 1, 'Financial and insurance services'),
    ('70000000-1', NULL, 1, 'Real estate services'),
    ('71000000-8', NULL, 1, 'Architectural, construction, engineering and inspection services'),
    ('72000000-5', NULL, 1, 'IT services: consulting, software development, Internet and support'),
    ('73000000-2', NULL, 1, 'Research and development services and related consultancy services'),
    ('75000000-6', NULL, 1, 'Administration, defence and social security services'),
    ('76000000-3', NULL, 1, 'Services related to the oil and gas industry'),
    ('77000000-0', NULL, 1, 'Agricultural, forestry, horticultural, aquacultural and apicultural services'),
    ('79000000-4', NULL, 1, 'Business services: law, marketing, consulting, recruitment, printing and security'),
    ('80000000-4', NULL, 1, 'Education and training services'),
    ('85000000-9', NULL, 1, 'Health and social work services'),
    ('90000000-7', NULL, 1, 'Sewage, refuse, cleaning and environmental services'),
    ('92000000-1', NULL, 1, 'Recreational, cultural and sporting services'),
    ('98000000-3', NULL, 1, 'Other community, social and personal services')
ON CONFLICT (code) DO UPDATE
    SET parent_code = EXCLUDED.parent_code,
        level = EXCLUDED.level,
        name_en = EXCLUDED.name_en
    WHERE (c.parent_code, c.level, c.name_en)
          IS DISTINCT FROM (EXCLUDED.parent_code, EXCLUDED.level, EXCLUDED.name_en);

-- Groups of division 45 "Construction work".
INSERT INTO cpv_codes AS c (code, parent_code, level, name_en) VALUES
    ('45100000-8', '45000000-7', 2, 'Site preparation work'),
    ('45200000-9', '45000000-7', 2, 'Works for complete or part construction and civil engineering work'),
    ('45300000-0', '45000000-7', 2, 'Building installation work'),
    ('45400000-1', '45000000-7', 2, 'Building completion work'),
    ('45500000-2', '45000000-7', 2, 'Hire of construction and civil engineering machinery and equipment with operator')
ON CONFLICT (code) DO UPDATE
    SET parent_code = EXCLUDED.parent_code,
        level = EXCLUDED.level,
        name_en = EXCLUDED.name_en
    WHERE (c.parent_code, c.level, c.name_en)
          IS DISTINCT FROM (EXCLUDED.parent_code, EXCLUDED.level, EXCLUDED.name_en);
