//! The watch streams the controllers run on: kube's `watcher`, with what
//! client-go's reflector does around it.
//!
//! - A watch that ends in 410 Gone (its resource version was compacted
//!   away) makes the watcher list again at once. That is the normal way to
//!   resume, not a failure: it costs no backoff.
//! - Every other error waits out this stream's own exponential backoff, and
//!   is reported here, once until the stream works again: a 403 as an error
//!   that names the missing permission, anything else as a warning. The
//!   errors are not passed on to the controller, whose one backoff for all
//!   its trigger streams would otherwise hold back every watch for the
//!   failures of one.
//! - The managed kinds' initial lists come as a stream of watch events
//!   (`sendInitialEvents`) where the API server is new enough
//!   ([`initial_lists_streamed`]), otherwise in pages.
//! - One watch per kind of object: a controller that needs the objects
//!   another one watches gets copies through a [`Tee`] instead of a watch of
//!   its own (each watch is a stream of events the API server sends).

use std::fmt::Debug;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::{Stream, StreamExt, future};
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

/// Whether to ask the API server to stream initial lists (`sendInitialEvents`,
/// KEP-3157) instead of serving them in pages: each object is cached as it
/// arrives, with no page of decoded objects held at once (BENCHMARKS.md,
/// "What changed"). client-go asks for it by default from Kubernetes 1.35 on
/// (its `WatchListClient` feature gate) and falls back to pages when refused;
/// kube's watcher does not fall back, so only an API server of 1.35 or newer
/// is asked. An unknown version gets pages.
pub async fn initial_lists_streamed(client: &Client) -> bool {
    match client.apiserver_version().await {
        Ok(info) => streams_initial_lists(&info.major, &info.minor),
        Err(error) => {
            tracing::debug!(%error, "the API server's version is unknown: initial lists come in pages");
            false
        }
    }
}

/// Version "1.35" and later stream; `minor` may carry a suffix ("35+").
fn streams_initial_lists(major: &str, minor: &str) -> bool {
    let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
    match (major.parse::<u32>(), minor.parse::<u32>()) {
        (Ok(1), Ok(minor)) => minor >= 35,
        (Ok(major), _) => major > 1,
        (Err(_), _) => false,
    }
}

/// `watcher(api, config)` for the stream called `what` (e.g. "Microtenants in
/// team-a"), with 410s resumed at once and other errors reported and absorbed.
pub fn watch<K>(
    api: Api<K>,
    config: watcher::Config,
    what: String,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let resumed = what.clone();
    let mut errors = ErrorReport::new(what);
    watcher(api, config)
        .filter(move |event| {
            let expired = matches!(event, Err(error) if is_expired(error));
            if expired {
                tracing::debug!(watch = %resumed, "resource version expired (410 Gone): listing again");
            }
            future::ready(!expired)
        })
        .default_backoff()
        .filter(move |event| future::ready(errors.passes(event)))
}

/// Copies of the objects one watch stream touches (applied, listed or
/// deleted, as `touched_objects` yields them), for the other controllers that
/// are triggered by them. The controller that runs the stream drives it; the
/// copies wait in each subscriber's channel until its controller takes them.
pub struct Tee<K> {
    subscribers: Vec<UnboundedSender<K>>,
}

impl<K> Default for Tee<K> {
    fn default() -> Self {
        Self { subscribers: Vec::new() }
    }
}

impl<K: Clone + Send + 'static> Tee<K> {
    /// A trigger stream of the copies, for `Controller::watches_stream`.
    pub fn subscribe(&mut self) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static + use<K> {
        let (sender, receiver) = unbounded();
        self.subscribers.push(sender);
        receiver.map(Ok)
    }

    /// The tap to `inspect` the source stream with.
    pub fn tap(self) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) + Send + 'static {
        let mut subscribers = self.subscribers;
        move |event| {
            if let Ok(
                watcher::Event::Apply(object) | watcher::Event::InitApply(object) | watcher::Event::Delete(object),
            ) = event
            {
                // A subscriber that is gone (its controller stopped) needs no copies.
                subscribers.retain(|subscriber| subscriber.unbounded_send(object.clone()).is_ok());
            }
        }
    }
}

/// Whether the watch ended because its resource version is gone (410).
fn is_expired(error: &watcher::Error) -> bool {
    status_code(error) == Some(410)
}

fn status_code(error: &watcher::Error) -> Option<u16> {
    match error {
        watcher::Error::WatchError(status) => Some(status.code),
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => Some(status.code),
        _ => None,
    }
}

/// What a stream's errors have been reported as since it last worked.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Reported {
    Forbidden,
    Failing,
}

struct ErrorReport {
    what: String,
    reported: Option<Reported>,
}

impl ErrorReport {
    fn new(what: String) -> Self {
        Self { what, reported: None }
    }

    /// Events pass; errors are reported (once per kind until the stream
    /// works again) and held back.
    fn passes<K>(&mut self, event: &Result<watcher::Event<K>, watcher::Error>) -> bool {
        let error = match event {
            // Every attempt starts with `Init`, whether its list then works or not.
            Ok(watcher::Event::Init) => return true,
            Ok(_) => {
                if self.reported.take().is_some() {
                    tracing::info!(watch = %self.what, "watch works again");
                }
                return true;
            }
            Err(error) => error,
        };
        let kind = if status_code(error) == Some(403) { Reported::Forbidden } else { Reported::Failing };
        if self.reported == Some(kind) {
            tracing::debug!(watch = %self.what, %error, "watch still failing; retrying with backoff");
            return false;
        }
        self.reported = Some(kind);
        match kind {
            Reported::Forbidden => tracing::error!(
                watch = %self.what,
                %error,
                "the operator is not allowed to watch {}: its RBAC lacks list/watch there \
                 (Helm chart: rbac.create and watchNamespaces); retrying with backoff",
                self.what
            ),
            Reported::Failing => {
                tracing::warn!(watch = %self.what, %error, "watch failed; retrying with backoff")
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn status(code: u16) -> watcher::Error {
        watcher::Error::WatchError(Box::new(Status { code, ..Status::default() }))
    }

    #[test]
    fn initial_lists_are_streamed_from_kubernetes_1_35_on() {
        let cases = [
            ("1", "37", true),
            ("1", "35+", true),
            ("1", "34", false),
            ("1", "25", false),
            ("1", "", false),
            ("2", "0", true),
            ("", "40", false),
        ];
        for (major, minor, streamed) in cases {
            assert_eq!(streams_initial_lists(major, minor), streamed, "{major}.{minor}");
        }
    }

    #[tokio::test]
    async fn a_tee_copies_what_the_stream_touches_to_every_subscriber() {
        use k8s_openapi::api::core::v1::Secret;
        use kube::api::ObjectMeta;
        let secret = |name: &str| Secret {
            metadata: ObjectMeta { name: Some(name.into()), ..ObjectMeta::default() },
            ..Secret::default()
        };
        let mut tee = Tee::<Secret>::default();
        let (first, second) = (tee.subscribe(), tee.subscribe());
        let mut tap = tee.tap();
        let events = [
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(secret("listed"))),
            Ok(watcher::Event::InitDone),
            Ok(watcher::Event::Apply(secret("changed"))),
            Err(status(500)),
            Ok(watcher::Event::Delete(secret("deleted"))),
        ];
        events.iter().for_each(&mut tap);
        drop(tap);
        for subscriber in [first.boxed(), second.boxed()] {
            let names: Vec<String> = subscriber
                .map(|copy| copy.map(|s| s.metadata.name.unwrap_or_default()).unwrap_or_default())
                .collect()
                .await;
            assert_eq!(names, ["listed", "changed", "deleted"]);
        }
    }

    #[test]
    fn a_410_is_a_resume_not_a_failure() {
        assert!(is_expired(&status(410)));
        assert!(!is_expired(&status(403)));
        assert!(!is_expired(&watcher::Error::NoResourceVersion));
    }

    #[test]
    fn errors_are_held_back_and_reported_once_until_the_stream_works_again() {
        let mut report = ErrorReport::new("Microtenants in team-a".into());
        type Event = Result<watcher::Event<k8s_openapi::api::core::v1::Secret>, watcher::Error>;
        let forbidden: Event = Err(status(403));
        assert!(!report.passes(&forbidden));
        assert_eq!(report.reported, Some(Reported::Forbidden));
        assert!(!report.passes(&forbidden));
        assert_eq!(report.reported, Some(Reported::Forbidden), "still the one report");
        let attempt: Event = Ok(watcher::Event::Init);
        assert!(report.passes(&attempt));
        assert_eq!(report.reported, Some(Reported::Forbidden), "a new attempt is not yet a success");
        let done: Event = Ok(watcher::Event::InitDone);
        assert!(report.passes(&done));
        assert_eq!(report.reported, None, "reported again after it worked");
        let failing: Event = Err(status(500));
        assert!(!report.passes(&failing));
        assert_eq!(report.reported, Some(Reported::Failing));
    }
}
