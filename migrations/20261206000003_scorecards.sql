-- Scorecards (issue 13 §7): one row per component, scorecard and day, holding the latest
-- evaluation of that day. Today's row is overwritten while the day lasts; earlier rows are the
-- history the trend is drawn from. Rows name components and cards by reference and name, not by
-- foreign key: the catalog and the card directory change independently of the history.
CREATE TABLE scorecard_results (
    -- Reference key, `component:default/checkout`.
    component    TEXT NOT NULL,
    -- The scorecard's `name`.
    card         TEXT NOT NULL,
    -- The UTC day the row is for.
    day          DATE NOT NULL,
    -- Index of the highest level reached (0 = the first); NULL when not even the first.
    level        INT,
    -- Checks passed / checks known, 0 to 1.
    score        REAL NOT NULL,
    -- Every check's outcome: `[{id, title, level, status, reason}]`.
    checks       JSONB NOT NULL,
    -- When this result was last computed differently (a pass that finds the same result leaves
    -- the row alone).
    evaluated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (component, card, day)
);
-- The pages and the API read one day (the latest) of every component.
CREATE INDEX scorecard_results_day ON scorecard_results (day, card);
