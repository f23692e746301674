//! Datetime and timespan functions.

super::family! {
    /// Datetime and timespan functions.
    pub enum DateTimeFn {
        Ago = ["ago"] (1, 1, Fixed(DateTime)),
        Now = ["now"] (0, 1, Fixed(DateTime)),
        FormatDatetime = ["format_datetime"] (2, 2, Fixed(String)),
        FormatTimespan = ["format_timespan"] (2, 2, Fixed(String)),
        DatetimeDiff = ["datetime_diff"] (3, 3, Fixed(Long)),
        DatetimeAdd = ["datetime_add"] (3, 3, Fixed(DateTime)),
        DatetimePart = ["datetime_part", "datepart"] (2, 2, Fixed(Int)),
        StartOfDay = ["startofday"] (1, 2, Fixed(DateTime)),
        StartOfWeek = ["startofweek"] (1, 2, Fixed(DateTime)),
        StartOfMonth = ["startofmonth"] (1, 2, Fixed(DateTime)),
        StartOfYear = ["startofyear"] (1, 2, Fixed(DateTime)),
        EndOfDay = ["endofday"] (1, 2, Fixed(DateTime)),
        EndOfWeek = ["endofweek"] (1, 2, Fixed(DateTime)),
        EndOfMonth = ["endofmonth"] (1, 2, Fixed(DateTime)),
        EndOfYear = ["endofyear"] (1, 2, Fixed(DateTime)),
        DayOfWeek = ["dayofweek"] (1, 1, Fixed(TimeSpan)),
        DayOfMonth = ["dayofmonth"] (1, 1, Fixed(Int)),
        DayOfYear = ["dayofyear"] (1, 1, Fixed(Int)),
        HourOfDay = ["hourofday"] (1, 1, Fixed(Int)),
        GetMonth = ["getmonth", "monthofyear"] (1, 1, Fixed(Int)),
        GetYear = ["getyear"] (1, 1, Fixed(Int)),
        WeekOfYear = ["week_of_year", "weekofyear"] (1, 1, Fixed(Int)),
        MakeDatetime = ["make_datetime"] (3, 7, Fixed(DateTime)),
        MakeTimespan = ["make_timespan"] (2, 4, Fixed(TimeSpan)),
        UnixtimeSecondsToDatetime = ["unixtime_seconds_todatetime"] (1, 1, Fixed(DateTime)),
        UnixtimeMillisecondsToDatetime = ["unixtime_milliseconds_todatetime"] (1, 1, Fixed(DateTime)),
        UnixtimeMicrosecondsToDatetime = ["unixtime_microseconds_todatetime"] (1, 1, Fixed(DateTime)),
        UnixtimeNanosecondsToDatetime = ["unixtime_nanoseconds_todatetime"] (1, 1, Fixed(DateTime)),
        IngestionTime = ["ingestion_time"] (0, 0, Fixed(DateTime)),
    }
}
