//! Database URLs: which backend a URL names, and how to show it without its password.

use std::fmt;

use plugin_runtime::Error;

/// The database servers the store speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (`sqlite://path/to/file.db`, `sqlite::memory:`).
    Sqlite,
    /// PostgreSQL (`postgres://` or `postgresql://`).
    Postgres,
    /// MySQL or MariaDB (`mysql://` or `mariadb://`).
    Mysql,
}

impl Backend {
    /// The cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MySQL",
        })
    }
}

/// A parsed database URL. `Display` and `Debug` hide the password, so a URL can go into
/// errors and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver gets: the SQLite path, or the whole server URL.
    target: String,
}

impl DatabaseUrl {
    /// Reads the backend from the scheme. SQLite takes `sqlite://PATH` (a relative or, with a
    /// third slash, absolute path), `sqlite:PATH` and `sqlite::memory:`.
    pub fn parse(url: &str) -> Result<DatabaseUrl, Error> {
        let invalid = |reason: &str| Error::InvalidInput {
            field: "database url",
            reason: format!("`{}`: {reason}", redact(url)),
        };
        let (scheme, rest) = url
            .split_once(':')
            .ok_or_else(|| invalid("no scheme: expected sqlite://, postgres:// or mysql://"))?;
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::Mysql,
            other => {
                return Err(invalid(&format!(
                    "unknown scheme `{other}`: expected sqlite, postgres or mysql"
                )));
            }
        };
        let target = match backend {
            Backend::Sqlite => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(invalid("no file path after sqlite://"));
                }
                path.to_owned()
            }
            Backend::Postgres => url.to_owned(),
            // The driver knows only `mysql://`.
            Backend::Mysql => format!("mysql:{rest}"),
        };
        Ok(DatabaseUrl { backend, target })
    }

    /// The backend the scheme names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// An error unless the URL names `backend` (for the stores opened by type).
    pub(crate) fn expect(&self, backend: Backend) -> Result<(), Error> {
        if self.backend == backend {
            return Ok(());
        }
        Err(Error::InvalidInput {
            field: "database url",
            reason: format!("{self} is a {} URL, not a {backend} one", self.backend),
        })
    }

    /// What the driver connects to: the SQLite path or the server URL (with its password).
    pub(crate) fn target(&self) -> &str {
        &self.target
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "`sqlite://{}`", self.target),
            _ => write!(f, "`{}`", redact(&self.target)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The URL with the password of its user-info part replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        let cases = [
            ("sqlite://plugins.db", Backend::Sqlite, "plugins.db"),
            (
                "sqlite:///var/lib/app.db",
                Backend::Sqlite,
                "/var/lib/app.db",
            ),
            ("sqlite::memory:", Backend::Sqlite, ":memory:"),
            (
                "postgres://u@h:5432/db",
                Backend::Postgres,
                "postgres://u@h:5432/db",
            ),
            (
                "postgresql://u@h/db",
                Backend::Postgres,
                "postgresql://u@h/db",
            ),
            (
                "mysql://root@h:3306/db",
                Backend::Mysql,
                "mysql://root@h:3306/db",
            ),
            ("mariadb://root@h/db", Backend::Mysql, "mysql://root@h/db"),
        ];
        for (url, backend, target) in cases {
            let parsed = DatabaseUrl::parse(url).unwrap();
            assert_eq!(
                (parsed.backend(), parsed.target()),
                (backend, target),
                "{url}"
            );
        }
    }

    #[test]
    fn unknown_or_missing_schemes_are_errors() {
        for url in ["plugins.db", "redis://h/0", "sqlite://"] {
            let err = DatabaseUrl::parse(url).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn the_password_never_shows() {
        let url =
            DatabaseUrl::parse("postgres://app:s3cr%40t@db:5432/app?sslmode=require").unwrap();
        assert_eq!(
            url.to_string(),
            "`postgres://app:***@db:5432/app?sslmode=require`"
        );
        assert_eq!(format!("{url:?}"), url.to_string());
        let err = DatabaseUrl::parse("redis://u:hunter2@h/0").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
    }
}
