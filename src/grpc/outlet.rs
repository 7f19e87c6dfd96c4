//! Where a server stream's rows wait for its caller, for the streams a task of
//! their own feeds (a StreamSales walk, a notification watch).
//!
//! The task holds the outlet weakly, so a caller that leaves drops it (and the
//! task sees its channel close); the task empties it when it ends the stream
//! before the caller took every row (a bound, a stalled reader, a journal
//! error), so the caller's next read gets the ending status at once instead of
//! every row still buffered, and nothing the task sent keeps memory alive.

use std::{
    sync::{Arc, Mutex, PoisonError, Weak},
    task::{Context, Poll, Waker},
    time::Duration,
};

use tokio::sync::mpsc;
use tonic::Status;

/// The rows of a stream fed by a task, and how it ends.
pub(crate) struct Outlet<T> {
    /// The rows not yet taken; `None` once the stream ended or the task dropped them.
    rows: Option<mpsc::Receiver<Result<T, Status>>>,
    /// The status that ends the stream once `rows` is gone.
    last: Option<Status>,
    /// The caller's task, to wake when the feeding task ends the stream.
    waker: Option<Waker>,
}

impl<T> Outlet<T> {
    /// An outlet for the rows `rows` receives.
    pub(crate) fn shared(rows: mpsc::Receiver<Result<T, Status>>) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self { rows: Some(rows), last: None, waker: None }))
    }

    /// Ends the stream before its caller took every row: the rows waiting are
    /// dropped now, and the caller's next read gets `status`. Nothing when the
    /// caller is gone.
    pub(crate) fn end_early(outlet: &Weak<Mutex<Self>>, status: Status) {
        let Some(outlet) = outlet.upgrade() else { return };
        let mut outlet = outlet.lock().unwrap_or_else(PoisonError::into_inner);
        outlet.rows = None;
        outlet.last = Some(status);
        if let Some(waker) = outlet.waker.take() {
            waker.wake();
        }
    }

    /// Drops the rows not yet taken (the stream is ending another way).
    pub(crate) fn drop_rows(outlet: &Mutex<Self>) {
        outlet.lock().unwrap_or_else(PoisonError::into_inner).rows = None;
    }

    /// The next row, then the ending status (if any), then the end: what the
    /// response stream's `poll_next` answers.
    pub(crate) fn poll_next(outlet: &Mutex<Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T, Status>>> {
        let mut outlet = outlet.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rows) = outlet.rows.as_mut() {
            match rows.poll_recv(cx) {
                Poll::Ready(Some(row)) => return Poll::Ready(Some(row)),
                Poll::Ready(None) => outlet.rows = None,
                Poll::Pending => {
                    outlet.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(outlet.last.take().map(Err))
    }
}

/// A duration in whole milliseconds, as an error names a limit.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt as _;

    use super::*;

    /// The response stream of a test: what a service's stream does with an outlet.
    struct Rows(Arc<Mutex<Outlet<u32>>>);

    impl tokio_stream::Stream for Rows {
        type Item = Result<u32, Status>;

        fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Outlet::poll_next(&self.0, cx)
        }
    }

    #[tokio::test]
    async fn ending_a_stream_early_drops_its_buffered_rows_and_ends_with_the_status() {
        let (tx, rx) = mpsc::channel(10);
        for row in 0..3 {
            tx.send(Ok(row)).await.unwrap();
        }
        let outlet = Outlet::shared(rx);
        let mut stream = Rows(Arc::clone(&outlet));
        assert_eq!(stream.next().await.unwrap().unwrap(), 0, "rows flow until then");

        Outlet::end_early(&Arc::downgrade(&outlet), Status::aborted("stalled"));
        assert!(tx.is_closed(), "the receiver and the two rows it held are gone");
        assert_eq!(stream.next().await.unwrap().unwrap_err().code(), tonic::Code::Aborted);
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn a_stream_whose_task_finished_ends_after_its_last_row() {
        let (tx, rx) = mpsc::channel(10);
        tx.send(Ok(7)).await.unwrap();
        drop(tx);
        let mut stream = Rows(Outlet::shared(rx));
        assert_eq!(stream.next().await.unwrap().unwrap(), 7);
        assert!(stream.next().await.is_none(), "no status: a plain end");
    }
}
