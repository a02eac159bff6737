//! The thread that reads the terminal and hands its events to the UI task, and that stops
//! reading while another program (the editor) has the terminal, so no keystroke meant for it
//! is taken.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use ratatui::crossterm::event::{self as term, Event as TermEvent};
use tokio::sync::{mpsc, oneshot};

/// How long the thread waits for input before it looks for a pause request: the longest a
/// pause waits.
const POLL: Duration = Duration::from_millis(100);

/// What the UI task tells the reader.
enum Control {
    /// Stop reading; say so on the channel given.
    Pause(oneshot::Sender<()>),
    /// Read again.
    Resume,
}

/// The reader thread's controls.
pub(super) struct Reader {
    control: std_mpsc::Sender<Control>,
}

impl Reader {
    /// Starts the thread; it sends every terminal event to `events` until that closes or the
    /// terminal fails.
    pub(super) fn spawn(events: mpsc::Sender<TermEvent>) -> Self {
        let (control, orders) = std_mpsc::channel();
        std::thread::spawn(move || read(&events, &orders));
        Self { control }
    }

    /// Stops reading; returns once the thread no longer touches the terminal.
    pub(super) async fn pause(&self) {
        let (done, paused) = oneshot::channel();
        if self.control.send(Control::Pause(done)).is_ok() {
            let _ = paused.await;
        }
    }

    /// Reads again after [`Reader::pause`].
    pub(super) fn resume(&self) {
        let _ = self.control.send(Control::Resume);
    }
}

fn read(events: &mpsc::Sender<TermEvent>, orders: &std_mpsc::Receiver<Control>) {
    loop {
        match orders.try_recv() {
            Ok(Control::Pause(paused)) => {
                let _ = paused.send(());
                // Wait for Resume; a stray Pause is answered at once.
                loop {
                    match orders.recv() {
                        Ok(Control::Resume) => break,
                        Ok(Control::Pause(paused)) => {
                            let _ = paused.send(());
                        }
                        Err(_) => return,
                    }
                }
            }
            Ok(Control::Resume) | Err(std_mpsc::TryRecvError::Empty) => {}
            Err(std_mpsc::TryRecvError::Disconnected) => return,
        }
        match term::poll(POLL) {
            Ok(true) => match term::read() {
                Ok(event) => {
                    if events.blocking_send(event).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            Ok(false) => {}
            Err(_) => return,
        }
    }
}
