-- Default prompts were renamed to <server>_<verb>_<object> and near-duplicates merged (the catalogue now
-- comes from each server's own definition). Organizations' overrides of the old names follow the rename,
-- so an org's edits or disabled flags are not lost. Where an org already has a row under the new name
-- (it overrode both halves of a merged pair), the new name's row is kept and the old one left as it is.
-- Idempotent: a second run changes nothing.
WITH renames(server, old_name, new_name) AS (
  VALUES
    ('linear', 'issue-triage', 'linear_triage_issues'),
    ('linear', 'linear_triage', 'linear_triage_issues'),
    ('linear', 'sprint-planning', 'linear_plan_cycle'),
    ('linear', 'workflow', 'linear_move_issue'),
    ('perplexity', 'research-workflow', 'perplexity_research_topic'),
    ('perplexity', 'perplexity_brief', 'perplexity_research_topic'),
    ('perplexity', 'analysis', 'perplexity_compare_options'),
    ('devtools', 'debugging', 'devtools_debug_page'),
    ('devtools', 'automation-workflow', 'devtools_automate_task')
),
candidates AS (
  SELECT DISTINCT ON (op.organization_id, op.server_id, r.new_name) op.id, r.new_name
  FROM organization_prompts op
  JOIN mcp_servers s ON s.id = op.server_id
  JOIN renames r ON r.server = s.name AND r.old_name = op.name
  WHERE NOT EXISTS (
    SELECT 1 FROM organization_prompts taken
    WHERE taken.organization_id = op.organization_id
      AND taken.server_id = op.server_id
      AND taken.name = r.new_name
  )
  ORDER BY op.organization_id, op.server_id, r.new_name, op.updated_at DESC
)
UPDATE organization_prompts op
SET name = c.new_name, updated_at = now()
FROM candidates c
WHERE op.id = c.id;
