//! The clock: a second thread that sends `tick HH:MM:SS` every few seconds
//! through a `Sender`. It shows that sends from another thread wake the UI
//! thread's `dispatch` at once (the echo comes back within a frame), with no
//! lock around the connection: the UI thread stays its only owner.

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sockette_std::Sender;

/// The running clock; dropping it stops the thread and waits for it.
pub(crate) struct Clock {
    /// Dropped to stop the thread: its wait ends at once, not at the next tick.
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Clock {
    /// Starts sending a tick through `sender` every `every`. The thread also
    /// ends by itself when a send is refused: the connection is closing or over.
    pub(crate) fn start(sender: Sender, every: Duration) -> io::Result<Clock> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new().name("clock".into()).spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if sender.send_text(format!("tick {}", utc_time())).is_err() {
                    break;
                }
            }
        })?;
        Ok(Clock {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `HH:MM:SS UTC`: the time of day from the system clock, in UTC because the
/// local offset needs a time-zone database, which this example does without.
fn utc_time() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        day / 3600,
        day % 3600 / 60,
        day % 60
    )
}
