-- What each advisory says about each package it names, in the deps
-- engine's compact form (explicit versions and range events, see
-- palisade_deps::compact), next to the scan-time index row. A scan judges
-- candidates from this column alone and reads a record's JSON only when it
-- matched. NULL for rows imported before this column existed: scans then
-- judge from the JSON, and the next import rewrites those records.
ALTER TABLE vuln_packages ADD COLUMN ranges TEXT;
