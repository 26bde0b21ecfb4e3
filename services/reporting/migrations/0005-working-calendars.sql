-- Each district's days, as its calendar counts them (docs/reference.md#the-directory),
-- with the working time summed from the calendar's first day up to each: the overdue
-- report finds lateness by joining on the day, and due times with an index lookup
-- (services/reporting/working_calendars.py keeps them). Times are the district's local
-- wall-clock times; a district without a calendar counts round the clock, in UTC.
CREATE TABLE working_calendars (
    district text PRIMARY KEY,
    policy jsonb NOT NULL,          -- {"calendar", "zone"} the days were counted from
    zone text NOT NULL,
    first_day date NOT NULL,        -- the days kept, both included
    last_day date NOT NULL
);
CREATE TABLE working_days (
    district text NOT NULL,
    day date NOT NULL,
    opens timestamp NOT NULL,       -- a day without working hours opens and closes at midnight
    closes timestamp NOT NULL,
    worked_before bigint NOT NULL,  -- microseconds worked from first_day to opens
    worked_after bigint NOT NULL,   -- ... to closes
    PRIMARY KEY (district, day)
);
CREATE INDEX working_days_worked ON working_days (district, worked_after) WHERE closes > opens;
