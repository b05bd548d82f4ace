-- Ended flows (done or failed) are deleted a few minutes after they end
-- (reset.finished_retention) instead of lingering until they expire. This
-- partial index finds them without scanning the live flows, and costs
-- nothing for flows still in progress.
CREATE INDEX flows_finished ON flows (updated_at) WHERE state IN ('done', 'failed');
