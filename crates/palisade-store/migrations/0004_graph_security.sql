-- The Microsoft Graph security API's incident properties that the Defender API does not
-- carry (graph.md §2.1). Both APIs read and write the same `incidents` rows.
ALTER TABLE incidents ADD COLUMN description TEXT;
ALTER TABLE incidents ADD COLUMN summary TEXT;
ALTER TABLE incidents ADD COLUMN resolving_comment TEXT;
ALTER TABLE incidents ADD COLUMN last_modified_by TEXT;
ALTER TABLE incidents ADD COLUMN system_tags TEXT NOT NULL DEFAULT '[]';   -- JSON array of strings
ALTER TABLE incidents ADD COLUMN priority_score INTEGER;
