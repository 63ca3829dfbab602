"""Airflow's WeekDay (airflow.utils.weekday, the standard provider's)."""
import enum


class WeekDay(enum.IntEnum):
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str):
        try:
            return cls[week_day_str.upper()]
        except KeyError:
            raise AttributeError(f'Invalid Week Day passed: "{week_day_str}"') from None

    @classmethod
    def convert(cls, day):
        if isinstance(day, WeekDay):
            return day
        return cls.get_weekday_number(day)

    @classmethod
    def validate_week_day(cls, week_day):
        if isinstance(week_day, (str, WeekDay)):
            return {cls.convert(week_day)}
        return {cls.convert(d) for d in week_day}
