// Package queue schedules image jobs onto A1111 backends.
//
// The rules it keeps:
//
//   - At most one job runs on a backend at a time: A1111 renders one image
//     batch at a time, and requests piled onto it only wait inside it where
//     nobody can see or cancel them.
//   - Users are served round-robin. Each user has a FIFO of waiting jobs;
//     when a backend frees up, the next user in the rotation after the one
//     served last takes it. A user who joins the line goes after everyone
//     already waiting but before the user served last, so one user's five
//     jobs never make another user wait for all five.
//   - A user may have at most Options.MaxPerUser jobs queued or running.
//   - Every job hears about itself on its own goroutine, in order:
//     OnPosition for each new place in line, OnPosition(0) right before Run,
//     then Done exactly once. No callback is called with the scheduler's
//     lock held, so callbacks may call back into the Scheduler. They should
//     still return quickly (hand slow work such as a Discord edit to another
//     goroutine): OnPosition(0) runs after the job was given its backend and
//     before Run, so a slow one keeps that backend idle.
//
// The package knows nothing of Discord or HTTP: a job is a plain function
// that is handed a context and a backend index.
package queue
