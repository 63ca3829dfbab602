"""Variables and connections: at parse time gust answers only defaults."""


class Variable:
    @staticmethod
    def get(key, default_var=KeyError, deserialize_json=False, default=KeyError):
        d = default if default is not KeyError else default_var
        if d is not KeyError:
            return d
        raise KeyError(f"Variable {key} does not exist (gust does not read variables while parsing DAG files)")

    @staticmethod
    def set(*args, **kwargs):
        raise RuntimeError("gust does not set variables while parsing DAG files")


class BaseHook:
    @classmethod
    def get_connection(cls, conn_id):
        raise KeyError(f"The conn_id `{conn_id}` isn't defined (gust does not read connections while parsing DAG files)")


class Connection:
    def __init__(self, conn_id=None, conn_type=None, host=None, login=None, password=None, schema=None, port=None, extra=None, uri=None, **kwargs):
        self.conn_id, self.conn_type, self.host, self.login = conn_id, conn_type, host, login
        self.password, self.schema, self.port, self.extra = password, schema, port, extra

    @classmethod
    def get(cls, conn_id):
        return BaseHook.get_connection(conn_id)
