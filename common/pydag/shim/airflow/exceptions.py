class AirflowException(Exception):
    pass


class AirflowSkipException(AirflowException):
    pass


class AirflowFailException(AirflowException):
    pass


class AirflowSensorTimeout(AirflowException):
    pass


class AirflowNotFoundException(AirflowException):
    pass


class AirflowConfigException(AirflowException):
    pass


class DuplicateTaskIdFound(AirflowException):
    pass


class TaskNotFound(AirflowException):
    pass


class AirflowOptionalProviderFeatureException(AirflowException):
    pass
