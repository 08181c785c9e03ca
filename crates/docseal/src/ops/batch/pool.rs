//! A general ordered thread pool: work on many items on several threads, results handed
//! back in input order within a bounded window.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// The number of threads to use by default: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Most threads a pool starts (more asked for: this many).
pub const MAX_THREADS: usize = 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `work` on every item of `items` on `threads` threads, and call
/// `emit(Some((index, result)))` in input order, each result as soon as it and every earlier
/// one are done. Items are taken from `items` lazily; at most a small window (a few per
/// thread) of finished results waits for an earlier one. `emit(None)` is called whenever the
/// results have all been emitted so far and the next is not ready yet (a moment to flush
/// output), and once at the end.
///
/// `emit` runs on a worker thread, one call at a time: the one that completed the next result
/// in order, or the one already emitting, which goes on with the results that became ready
/// meanwhile (no thread hand-off per item). A worker that finds another one emitting leaves
/// its result and goes on with its next item: an `emit` that waits (for a shared sync, in
/// `pack --batch`) holds up no worker.
///
/// When `emit` fails, no further item is started and the error is returned once the threads
/// have finished the items they hold. A panic in `work` stops the other threads and is passed
/// on.
pub fn ordered_parallel<I, T, R, E, W, F>(
    items: I,
    threads: usize,
    work: W,
    emit: F,
) -> std::result::Result<(), E>
where
    I: Iterator<Item = T> + Send,
    T: Send,
    R: Send,
    E: Send,
    W: Fn(T) -> R + Sync,
    F: FnMut(Option<(usize, R)>) -> std::result::Result<(), E> + Send,
{
    let threads = threads.clamp(1, MAX_THREADS);
    ordered_parallel_window(items, threads, threads * 4 + 4, work, emit)
}

/// [`ordered_parallel`] with at most `window` items started beyond the last one emitted (at
/// least one): a larger window lets the workers go on while `emit` waits.
// Longer than 80 lines: the shared state (counts, condition variable, window, emitter) and the
// worker that uses it must live in one scope for the scoped threads to borrow them.
pub fn ordered_parallel_window<I, T, R, E, W, F>(
    items: I,
    threads: usize,
    window: usize,
    work: W,
    emit: F,
) -> std::result::Result<(), E>
where
    I: Iterator<Item = T> + Send,
    T: Send,
    R: Send,
    E: Send,
    W: Fn(T) -> R + Sync,
    F: FnMut(Option<(usize, R)>) -> std::result::Result<(), E> + Send,
{
    struct Emitter<F, E> {
        emit: F,
        error: Option<E>,
    }
    let threads = threads.clamp(1, MAX_THREADS);
    let window = window.max(1);
    let every = (window / 4).max(1);
    let source = Mutex::new((items, 0usize));
    // How many results were emitted, whether to stop, and how many workers wait on the condvar
    // for room in the window (notified only then: a notification is a system call).
    let gate = (Mutex::new((0usize, false, 0usize)), Condvar::new());
    let stopped = AtomicBool::new(false);
    // Record that `n` results were emitted, and wake the workers waiting for room. The count
    // only grows (a stale, lower count once left every worker waiting for room in the window
    // for ever); it is published under the lock.
    let publish = |n: usize| {
        let mut g = lock(&gate.0);
        g.0 = g.0.max(n);
        if g.2 > 0 {
            drop(g);
            gate.1.notify_all();
        }
    };
    let stop = || {
        let mut g = lock(&gate.0);
        g.1 = true;
        stopped.store(true, Ordering::SeqCst);
        drop(g);
        gate.1.notify_all();
    };
    // Finished results not yet emitted, and the index of the next to emit. Held only for
    // moments; `emitter` is held while emitting.
    let pending: Mutex<(BTreeMap<usize, R>, usize)> = Mutex::new((BTreeMap::new(), 0));
    let emitter = Mutex::new(Emitter { emit, error: None });
    std::thread::scope(|s| {
        let (source, gate, stopped, work, stop, pending, emitter, publish) = (
            &source, &gate, &stopped, &work, &stop, &pending, &emitter, &publish,
        );
        // Only references are captured: the worker is `Copy`, one per thread.
        let worker = move || loop {
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let (i, item) = {
                let mut g = lock(source);
                let Some(item) = g.0.next() else { break };
                let i = g.1;
                g.1 += 1;
                (i, item)
            };
            {
                let mut g = lock(&gate.0);
                while i >= g.0 + window && !g.1 {
                    g.2 += 1;
                    g = gate.1.wait(g).unwrap_or_else(|e| e.into_inner());
                    g.2 -= 1;
                }
                if g.1 {
                    break;
                }
            }
            let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item))) {
                Ok(r) => r,
                Err(p) => {
                    stop();
                    std::panic::resume_unwind(p);
                }
            };
            lock(pending).0.insert(i, r);
            // Emit what is ready, unless another worker is emitting: it will find this
            // result when it looks again (it looks after it stops emitting).
            loop {
                let mut em = match emitter.try_lock() {
                    Ok(em) => em,
                    Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => break,
                };
                if em.error.is_some() {
                    break;
                }
                let mut emitted_any = false;
                let mut res = Ok(());
                while res.is_ok() {
                    let next = {
                        let mut p = lock(pending);
                        let n = p.1;
                        p.0.remove(&n).map(|r| {
                            p.1 += 1;
                            (n, r)
                        })
                    };
                    let Some(next) = next else { break };
                    let done = next.0 + 1;
                    emitted_any = true;
                    res = (em.emit)(Some(next));
                    // Room in the window now and then, not only when this thread stops
                    // emitting (it may go on for long while results keep coming); not at
                    // every result, whose lock the workers would contend for.
                    if done % every == 0 {
                        publish(done);
                    }
                }
                if res.is_ok() && emitted_any {
                    res = (em.emit)(None);
                }
                if let Err(e) = res {
                    em.error = Some(e);
                    drop(em);
                    stop();
                    break;
                }
                let next = lock(pending).1;
                if emitted_any {
                    publish(next);
                }
                drop(em);
                // A result that became ready while this thread was emitting, left by a
                // worker that found the emitter busy: emit it now.
                if !lock(pending).0.contains_key(&next) {
                    break;
                }
            }
        };
        // A thread the system refuses to start (too many threads, no memory) is done
        // without: the others do its share; with none started, this thread does the work.
        let started = (0..threads)
            .filter(|_| std::thread::Builder::new().spawn_scoped(s, worker).is_ok())
            .count();
        if started == 0 {
            worker();
        }
    });
    let mut em = emitter.into_inner().unwrap_or_else(|e| e.into_inner());
    match em.error.take() {
        Some(e) => Err(e),
        None => (em.emit)(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_parallel_keeps_order_and_bounds_the_window() {
        use std::sync::atomic::AtomicUsize;
        let running = AtomicUsize::new(0);
        let max_ahead = AtomicUsize::new(0);
        let emitted = AtomicUsize::new(0);
        let mut got = Vec::new();
        ordered_parallel(
            0..500u64,
            4,
            |i| {
                running.fetch_add(1, Ordering::SeqCst);
                let ahead = (i as usize).saturating_sub(emitted.load(Ordering::SeqCst));
                max_ahead.fetch_max(ahead, Ordering::SeqCst);
                // Uneven work: early items are slow.
                std::thread::sleep(std::time::Duration::from_micros((500 - i) % 7 * 50));
                i * 2
            },
            |item| {
                if let Some((idx, r)) = item {
                    assert_eq!(r, idx as u64 * 2);
                    got.push(r);
                    emitted.store(idx + 1, Ordering::SeqCst);
                }
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(got, (0..500).map(|i| i * 2).collect::<Vec<_>>());
        assert!(
            max_ahead.load(Ordering::SeqCst) <= 4 * 4 + 4,
            "{max_ahead:?}"
        );
    }

    /// Many more threads than cores, tiny items, 200,000 of them: the window count must never
    /// go back (a stale count once left every worker waiting for room for ever; this test hung
    /// in two runs out of three with that code). A watchdog turns a hang into a failure.
    #[test]
    fn ordered_parallel_does_not_hang_with_many_threads() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut n = 0u64;
            ordered_parallel(
                0..200_000u64,
                64,
                |i| {
                    if i % 13 == 0 {
                        std::thread::yield_now();
                    }
                    i
                },
                |item| {
                    if let Some((idx, r)) = item {
                        assert_eq!(idx as u64, r);
                        n += 1;
                    }
                    Ok::<(), ()>(())
                },
            )
            .unwrap();
            tx.send(n).unwrap();
        });
        let n = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("ordered_parallel hung");
        assert_eq!(n, 200_000);
    }

    #[test]
    fn ordered_parallel_stops_when_emit_fails() {
        use std::sync::atomic::AtomicUsize;
        let done = AtomicUsize::new(0);
        let res = ordered_parallel(
            0..100_000u32,
            2,
            |i| {
                done.fetch_add(1, Ordering::SeqCst);
                i
            },
            |item| match item {
                Some((10, _)) => Err("broken pipe"),
                _ => Ok(()),
            },
        );
        assert_eq!(res, Err("broken pipe"));
        assert!(done.load(Ordering::SeqCst) < 100, "{done:?}");
    }
}
