// Package queue schedules image jobs onto A1111 backends.
//
// The rules it keeps:
//
//   - At most one job runs on a backend at a time: A1111 renders one image
//     batch at a time, and requests piled onto it only wait inside it where
//     nobody can see or cancel them. A job runs on one backend at a time,
//     and its Run is never called twice at once.
//   - Users are served round-robin. Each user has a FIFO of waiting jobs;
//     when a backend frees up, the next user in the rotation after the one
//     served last takes it. A user who joins the line goes after everyone
//     already waiting but before the user served last, so one user's five
//     jobs never make another user wait for all five. A user's jobs start
//     in their order.
//   - A backend never idles while a waiting job may run there. Only the
//     head of each user's FIFO may start, so a user's later job does not
//     take a backend their first one cannot use (Backends, Avoid); other
//     users' jobs do.
//   - Placement saves model loads: a free backend takes the first job in
//     fair order whose checkpoint it has loaded (Job.Checkpoint,
//     SetModels), and with several free backends each job gets one where
//     it matches. Jobs passed over for a match are overtaken; a job
//     overtaken Options.MaxOvertakes times is taken by the next backend it
//     may use, match or not. With no match, fair order decides and a load
//     is paid.
//   - Backends go up and down (SetUp). A down backend gets no new job. A
//     job none of whose backends is up waits, hears Job.OnNoServer, and
//     ends with ErrNoServer after Options.NoServerWait.
//   - Failover: when Run fails with an error Options.Retryable accepts, the
//     job avoids that backend from then on and, if it failed on fewer than
//     Options.MaxAttempts backends and one it may use is left, goes back to
//     the head of the line (first of its user's jobs, its user first) and
//     the next backend it may use takes it. It keeps its per-user slot
//     meanwhile. A job never runs on a backend in its avoid set.
//   - A user may have at most Options.MaxPerUser jobs queued or running,
//     and at most Job.GroupLimit of them in the job's Group (one Discord
//     server's own limit). Cooldowns keeps the least time between one
//     user's jobs, for the caller to check before Submit.
//   - Every job hears about itself on its own goroutine, in order:
//     OnNoServer and OnPosition while it waits, OnPosition(0) right before
//     Run, OnMove after a failover (then waiting and Run again), then Done
//     exactly once. Places in line follow the fair order, so they are an
//     estimate when jobs overtake others or are limited to some backends.
//     No callback is called with the scheduler's lock held, so callbacks
//     may call back into the Scheduler. They should still return quickly
//     (hand slow work such as a Discord edit to another goroutine):
//     OnPosition(0) runs after the job was given its backend and before
//     Run, so a slow one keeps that backend idle.
//
// The package knows nothing of Discord or HTTP: a job is a plain function
// that is handed a context and a backend index.
package queue
