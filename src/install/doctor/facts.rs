//! Everything `doctor` looks at, gathered once before any check runs: the
//! config, the install record, each browser's detection and manifest
//! folders, and every host manifest found on disk. Detection and registry
//! reads are slow and the checks need them several times; reading them
//! once also means every check sees the same machine.

use crate::config::{AppConfig, Config, ConfigError};
use crate::fsx::absolute;
use crate::install::browsers::{
    self, display_name, manifest_dirs, Browser, Detection, Env, Family, Os, Scope, BROWSERS,
};
use crate::install::manifest::DEFAULT_HOST_NAME;
use crate::install::record::{Record, What};
use crate::install::registry::{self, Reading, RegistryError};
use crate::paths::Paths;
use crate::util::push_unique;
use std::path::PathBuf;

/// A manifest location worth looking at.
pub struct Place {
    pub dir: PathBuf,
    pub family: Family,
    /// Browser names (or "--user-data-dir", "Flatpak <id>") reading it.
    pub readers: Vec<String>,
}

/// A host manifest that exists, with its text.
pub struct Found {
    pub file: PathBuf,
    pub text: String,
    pub host: String,
    /// Index into `Facts::places`.
    pub place: usize,
}

/// A browser of the table that exists on this OS.
pub struct Seen {
    pub browser: &'static Browser,
    pub detection: Detection,
    /// Its own manifest folders: per user and system-wide, or on Windows the
    /// folders its registry keys point into.
    pub dirs: Vec<PathBuf>,
}

pub struct Facts<'a> {
    pub paths: &'a Paths,
    pub env: &'a Env,
    /// Where this program runs from.
    /// The daemon binary (doctor runs in it).
    pub exe: String,
    /// The thin binary beside it, which the manifests should name.
    pub thin_exe: String,
    pub config_path: PathBuf,
    pub config: Result<Config, ConfigError>,
    /// The registered apps (none when the config is unreadable).
    pub apps: Vec<AppConfig>,
    pub record: Result<Record, anyhow::Error>,
    /// Host names looked for: asked, the default and every recorded one.
    pub hosts: Vec<String>,
    pub browsers: Vec<Seen>,
    pub places: Vec<Place>,
    pub manifests: Vec<Found>,
    /// Windows: every key a browser of the table reads (both hives, every
    /// host name) and every recorded key, each read once.
    pub registry: Vec<KeyReading>,
}

/// Windows: a registry key and what its default value is.
pub struct KeyReading {
    /// As the table and the record spell it (`HKEY_CURRENT_USER\…`).
    pub key: String,
    /// The browsers that read it.
    pub readers: Vec<&'static Browser>,
    pub reading: Result<Reading, RegistryError>,
}

impl KeyReading {
    /// The folder of the manifest the key points at.
    fn manifest_dir(&self) -> Option<PathBuf> {
        let v = self.reading.as_ref().ok()?.value()?;
        PathBuf::from(v).parent().map(PathBuf::from)
    }
}

impl Facts<'_> {
    pub fn gather<'a>(
        paths: &'a Paths,
        env: &'a Env,
        host_names: &[String],
        user_data_dirs: &[PathBuf],
    ) -> Facts<'a> {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.canonicalize().ok())
            .map(crate::install::spec::plain_path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "?".into());
        let thin_exe = crate::paths::beside_this_program(crate::paths::THIN_BIN)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| format!("? ({e})"));
        let config_path = paths.config_file();
        let config = Config::load(&config_path);
        let apps = config.as_ref().map(|c| c.apps.clone()).unwrap_or_default();
        let record = Record::load(&paths.install_record());
        let mut hosts = host_names.to_vec();
        push_unique(&mut hosts, DEFAULT_HOST_NAME.to_string());
        if let Ok(rec) = &record {
            for i in &rec.items {
                if let What::Manifest { host_name, .. } = &i.what {
                    push_unique(&mut hosts, host_name.clone());
                }
            }
        }
        let registry = read_registry(env, &hosts, record.as_ref().ok());
        let browsers = BROWSERS
            .iter()
            .filter(|b| b.supported_on(env.os))
            .map(|b| Seen {
                browser: b,
                detection: browsers::detect(b, env),
                dirs: if env.os == Os::Windows {
                    registry
                        .iter()
                        .filter(|k| k.readers.iter().any(|r| r.id == b.id))
                        .filter_map(KeyReading::manifest_dir)
                        .collect()
                } else {
                    both_scopes(b, env)
                },
            })
            .collect();
        let mut f = Facts {
            paths,
            env,
            exe,
            thin_exe,
            config_path,
            config,
            apps,
            record,
            hosts,
            browsers,
            places: Vec::new(),
            manifests: Vec::new(),
            registry,
        };
        f.collect_places(user_data_dirs);
        f.read_manifests();
        f
    }

    /// Every folder a manifest could be in: the table's (with sandboxes),
    /// `--user-data-dir`, what the record says was written, and on Windows
    /// what the registry points at.
    fn collect_places(&mut self, user_data_dirs: &[PathBuf]) {
        let env = self.env;
        let mut places = Vec::new();
        if env.os != Os::Windows {
            for seen in &self.browsers {
                let b = seen.browser;
                for d in &seen.dirs {
                    add_place(&mut places, d.clone(), b.family, b.name.to_string());
                }
                if env.os != Os::Linux {
                    continue;
                }
                for f in b.flatpak {
                    for d in f.manifest_dirs(env) {
                        add_place(&mut places, d, b.family, format!("Flatpak {}", f.app_id));
                    }
                }
                for s in b.snap {
                    if let Some(d) = s.manifest_dir(env) {
                        add_place(&mut places, d, b.family, format!("Snap {}", s.name));
                    }
                }
            }
        }
        for d in user_data_dirs {
            let dir = absolute(d).join("NativeMessagingHosts");
            add_place(&mut places, dir, Family::Chromium, "--user-data-dir".into());
        }
        if let Ok(rec) = &self.record {
            for i in &rec.items {
                let What::Manifest { path, family, .. } = &i.what else {
                    continue;
                };
                if let Some(dir) = path.parent() {
                    for id in &i.browsers {
                        add_place(&mut places, dir.to_path_buf(), *family, display_name(id));
                    }
                }
            }
        }
        for k in &self.registry {
            if let Some(dir) = k.manifest_dir() {
                for b in &k.readers {
                    add_place(&mut places, dir.clone(), b.family, b.name.to_string());
                }
            }
        }
        self.places = places;
    }

    fn read_manifests(&mut self) {
        for (i, place) in self.places.iter().enumerate() {
            for h in &self.hosts {
                let file = place.dir.join(format!("{h}.json"));
                if let Ok(text) = std::fs::read_to_string(&file) {
                    self.manifests.push(Found {
                        file,
                        text,
                        host: h.clone(),
                        place: i,
                    });
                }
            }
        }
    }

    /// The first manifest found in any of `dirs`, for any host name.
    pub fn manifest_in(&self, dirs: &[PathBuf]) -> Option<&PathBuf> {
        dirs.iter()
            .flat_map(|d| self.hosts.iter().map(move |h| d.join(format!("{h}.json"))))
            .find_map(|f| self.manifests.iter().map(|m| &m.file).find(|m| **m == f))
    }

    /// Whether some app lists an extension of `family`.
    pub fn wants(&self, family: Family) -> bool {
        !super::wanted(&self.apps, family).is_empty()
    }
}

/// The manifest folders of `b` per user and system-wide.
fn both_scopes(b: &Browser, env: &Env) -> Vec<PathBuf> {
    [Scope::User, Scope::System]
        .into_iter()
        .flat_map(|scope| manifest_dirs(b, env, scope))
        .collect()
}

fn add_place(places: &mut Vec<Place>, dir: PathBuf, family: Family, reader: String) {
    if let Some(p) = places.iter_mut().find(|p| p.dir == dir) {
        push_unique(&mut p.readers, reader);
        return;
    }
    places.push(Place {
        dir,
        family,
        readers: vec![reader],
    });
}

/// Reads every browser's keys (both hives, every host name) and every key
/// the record names, each once: many browsers share Chrome's key.
fn read_registry(env: &Env, hosts: &[String], record: Option<&Record>) -> Vec<KeyReading> {
    if env.os != Os::Windows {
        return Vec::new();
    }
    let mut keys: Vec<(String, Vec<&'static Browser>)> = Vec::new();
    let mut add = |key: String, b: Option<&'static Browser>| {
        let i = match keys.iter().position(|(k, _)| k.eq_ignore_ascii_case(&key)) {
            Some(i) => i,
            None => {
                keys.push((key, Vec::new()));
                keys.len() - 1
            }
        };
        if let Some(b) = b {
            if !keys[i].1.iter().any(|r| r.id == b.id) {
                keys[i].1.push(b);
            }
        }
    };
    for b in BROWSERS.iter().filter(|b| b.supported_on(env.os)) {
        for scope in [Scope::User, Scope::System] {
            for h in hosts {
                for k in browsers::registry_keys(b, scope, h) {
                    add(k, Some(b));
                }
            }
        }
    }
    for i in record.map(|r| r.items.as_slice()).unwrap_or_default() {
        if let What::Registry { key, .. } = &i.what {
            add(key.clone(), None);
            for id in &i.browsers {
                add(key.clone(), browsers::by_id(id));
            }
        }
    }
    keys.into_iter()
        .map(|(key, readers)| KeyReading {
            reading: registry::Key::parse(&key).and_then(|k| registry::read_default(&k)),
            key,
            readers,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::record::Item;

    #[test]
    fn gathers_recorded_host_names_and_the_manifests_in_every_place() {
        let t = tempfile::tempdir().unwrap();
        let paths = Paths {
            config_dir: t.path().join("config"),
            state_dir: t.path().join("state"),
            runtime_dir: t.path().join("run"),
        };
        let env = Env::scratch(t.path(), Os::Linux);
        // Chromium per user, with a manifest under a recorded host name.
        let chromium = env.xdg_config.join("chromium/NativeMessagingHosts");
        std::fs::create_dir_all(&chromium).unwrap();
        std::fs::write(chromium.join("custom_host.json"), "{}").unwrap();
        let mut record = Record::default();
        record.add(Item {
            app_id: "a".into(),
            endpoint: "https://e.example".into(),
            scope: Scope::User,
            browsers: vec!["chromium".into()],
            what: What::Manifest {
                path: chromium.join("custom_host.json"),
                host_name: "custom_host".into(),
                family: Family::Chromium,
                ids: vec![],
                added: vec![],
            },
            owner: None,
        });
        record.save(&paths.install_record()).unwrap();
        // A --user-data-dir profile with the default host name.
        let profile = t.path().join("profile/NativeMessagingHosts");
        std::fs::create_dir_all(&profile).unwrap();
        std::fs::write(profile.join("logto_companion.json"), "{}").unwrap();

        let f = Facts::gather(&paths, &env, &[], &[t.path().join("profile")]);
        assert_eq!(f.hosts, ["logto_companion", "custom_host"]);
        let files: Vec<&PathBuf> = f.manifests.iter().map(|m| &m.file).collect();
        assert_eq!(
            files,
            [
                &chromium.join("custom_host.json"),
                &profile.join("logto_companion.json")
            ]
        );
        let place = &f.places[f.manifests[0].place];
        assert_eq!(place.readers, ["Chromium"]);
        assert_eq!(
            f.manifest_in(std::slice::from_ref(&profile)),
            Some(&profile.join("logto_companion.json"))
        );
        // Each browser of the table that exists on Linux, detected once.
        assert_eq!(
            f.browsers.len(),
            BROWSERS
                .iter()
                .filter(|b| b.supported_on(Os::Linux))
                .count()
        );
        assert!(f.browsers.iter().all(|s| !s.detection.any()));
        assert!(f.config.as_ref().is_ok_and(|c| c.apps.is_empty()));
    }
}
