use sentry_schedule::scheduled;

// A free fn whose body declares items of its own: their `Self` is theirs, not a sign of
// an `impl` block around the job.
#[scheduled(cron = "0 12 * * *")]
async fn tally() {
    struct Count(u32);
    impl Count {
        fn zero() -> Self {
            Count(0)
        }
    }
    trait Named {
        fn named() -> Self;
    }
    let _ = Count::zero().0;
}

fn main() {}
