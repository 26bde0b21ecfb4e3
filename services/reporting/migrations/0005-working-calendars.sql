-- Each district's working days, as its calendar counts them (docs/reference.md#the-directory),
-- with the working time summed from the calendar's first day up to each: the overdue
-- report finds due times and lateness with an index lookup or two a ticket
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
    opens timestamp NOT NULL,
    closes timestamp NOT NULL,
    worked_before bigint NOT NULL,  -- microseconds worked from first_day to opens
    worked_after bigint NOT NULL,   -- ... to closes
    PRIMARY KEY (district, opens)
);
CREATE INDEX working_days_worked ON working_days (district, worked_after);
