use super::*;

const RETRY: Failure = Failure::Retryable { retry_after: None };

fn policy() -> HealthPolicy {
    HealthPolicy {
        error_threshold: 2,
        cooldown: Duration::from_secs(180),
        breaker_window: 4,
        breaker_failure_rate: 0.5,
        key_retire: Duration::from_secs(3600),
    }
}

#[test]
fn threshold_then_cooldown_then_half_open_trial() {
    let p = policy();
    let t0 = Instant::now();
    let mut h = TargetHealth::default();
    h.on_attempt(t0);
    h.on_failure(t0, &p, RETRY, false, "529");
    assert_eq!(h.state(t0), State::Up, "one failure is below the threshold");
    assert!(h.available(t0));
    h.on_failure(t0, &p, RETRY, false, "529");
    let until = t0 + Duration::from_secs(180);
    assert_eq!(h.state(t0), State::Down { until });
    assert!(!h.available(t0 + Duration::from_secs(179)));

    // Cooldown over: half-open, one trial at a time.
    let t1 = t0 + Duration::from_secs(180);
    assert_eq!(h.state(t1), State::HalfOpen);
    assert!(h.available(t1));
    h.on_attempt(t1);
    assert!(!h.available(t1), "a second request waits for the trial");
    assert!(h.available(t1 + TRIAL_TIMEOUT), "an abandoned trial stops blocking");
    h.on_success(&p, false);
    assert_eq!(h.state(t1), State::Up);
    assert_eq!(h.consecutive_failures(), 0);
}

#[test]
fn failed_trial_goes_straight_back_down() {
    let p = policy();
    let t0 = Instant::now();
    let mut h = TargetHealth::default();
    h.on_failure(t0, &p, RETRY, false, "x");
    h.on_failure(t0, &p, RETRY, false, "x");
    let t1 = t0 + p.cooldown;
    h.on_attempt(t1);
    h.on_failure(t1, &p, RETRY, false, "again");
    assert_eq!(h.state(t1), State::Down { until: t1 + p.cooldown });
    assert_eq!(h.last_error(), Some("again"));
}

#[test]
fn success_resets_the_consecutive_count() {
    let p = policy();
    let t0 = Instant::now();
    let mut h = TargetHealth::default();
    h.on_failure(t0, &p, RETRY, false, "x");
    h.on_success(&p, false);
    h.on_failure(t0, &p, RETRY, false, "x");
    assert_eq!(h.state(t0), State::Up);
}

#[test]
fn breaker_opens_on_the_failure_rate_over_its_window() {
    let mut p = policy();
    p.error_threshold = 100; // only the breaker can open it here
    let t0 = Instant::now();
    let mut h = TargetHealth::default();
    // success, failure, success: window not full yet.
    h.on_success(&p, true);
    h.on_failure(t0, &p, RETRY, true, "x");
    h.on_success(&p, true);
    assert_eq!(h.state(t0), State::Up);
    assert!((h.failure_rate() - 1.0 / 3.0).abs() < 1e-9);
    // Fourth outcome fills the window at 2/4 = 0.5: open.
    h.on_failure(t0, &p, RETRY, true, "x");
    assert_eq!(h.state(t0), State::Down { until: t0 + p.cooldown });
    assert_eq!(h.failure_rate(), 0.0, "window restarts");
}

#[test]
fn breaker_stays_closed_below_the_rate() {
    let mut p = policy();
    p.error_threshold = 100;
    let t0 = Instant::now();
    let mut h = TargetHealth::default();
    for i in 0..40 {
        if i % 4 == 0 {
            h.on_failure(t0, &p, RETRY, true, "x");
        } else {
            h.on_success(&p, true);
        }
        assert_eq!(h.state(t0), State::Up, "25% < 50% after {i}");
    }
}

#[test]
fn retirement_lasts_key_retire() {
    let p = policy();
    let t0 = Instant::now();
    let mut h = TargetHealth::default();
    h.on_failure(t0, &p, Failure::Retire, false, "insufficient_quota");
    assert_eq!(h.state(t0), State::Retired { until: t0 + p.key_retire });
    assert!(h.is_retired(t0 + Duration::from_secs(3599)));
    assert!(!h.available(t0 + Duration::from_secs(3599)));
    assert_eq!(h.state(t0 + p.key_retire), State::Up);
}

#[test]
fn retry_after_blocks_only_until_it_passes() {
    let p = policy();
    let t0 = Instant::now();
    let mut h = TargetHealth::default();
    h.on_failure(t0, &p, Failure::Retryable { retry_after: Some(Duration::from_secs(5)) }, false, "429");
    assert_eq!(h.state(t0), State::Up);
    assert!(!h.available(t0 + Duration::from_secs(4)));
    assert!(h.available(t0 + Duration::from_secs(5)));
}

#[test]
fn the_registry_keeps_keys_apart_and_retains_what_survives() {
    let (reg, p, now) = (HealthRegistry::default(), policy(), Instant::now());
    let key = |channel, fingerprint| KeyRef { channel, fingerprint };
    for _ in 0..p.error_threshold {
        reg.on_attempt(&key("a", 1), now);
        reg.on_failure(&key("a", 1), now, &p, RETRY, true, "boom");
    }
    reg.on_attempt(&key("a", 2), now);
    reg.on_success(&key("a", 2), &p);
    reg.on_attempt(&key("b", 1), now);
    assert_eq!(reg.report_key(&key("a", 1), now).state, State::Down { until: now + p.cooldown });
    assert_eq!(reg.report_key(&key("a", 2), now).state, State::Up);
    assert_eq!(reg.report_key(&key("a", 1), now).failures, u64::from(p.error_threshold));
    assert_eq!(reg.report_channel("a", now).requests, u64::from(p.error_threshold) + 1);
    assert_eq!(reg.report_key(&key("b", 1), now).requests, 1);

    reg.retain(|channel, fingerprint| channel == "a" && fingerprint != Some(2));
    reg.read(|t| {
        assert!(t.channel("a").is_some() && t.key(&key("a", 1)).is_some());
        assert!(t.key(&key("a", 2)).is_none());
        assert!(t.channel("b").is_none() && t.key(&key("b", 1)).is_none());
    });
    assert_eq!(reg.report_key(&key("a", 1), now).state, State::Down { until: now + p.cooldown });
}

#[test]
fn a_trial_that_ends_without_a_verdict_on_the_channel_frees_its_slot() {
    let (reg, p, t0) = (HealthRegistry::default(), policy(), Instant::now());
    let key = |fingerprint| KeyRef { channel: "a", fingerprint };
    // A long request that began while the channel was up.
    let before = reg.on_attempt(&key(9), t0);
    assert_eq!(before, Trials::default());
    for _ in 0..p.error_threshold {
        reg.on_attempt(&key(1), t0);
        reg.on_failure(&key(1), t0, &p, RETRY, true, "500");
    }
    let t1 = t0 + p.cooldown;
    let trial = |fingerprint| {
        assert_eq!(reg.report_channel("a", t1).state, State::HalfOpen);
        assert!(reg.read(|t| t.channel_available("a", t1)), "the trial slot is free");
        let trials = reg.on_attempt(&key(fingerprint), t1);
        assert!(trials.channel);
        assert!(!reg.read(|t| t.channel_available("a", t1)), "one trial at a time");
        trials
    };
    // The upstream refused the request itself (400): no verdict, the next request tries.
    let trials = trial(2);
    reg.end_trials(&key(2), trials, true);
    // A failure of the key alone (429, a refused key): the same for the channel.
    let trials = trial(2);
    reg.on_failure(&key(2), t1, &p, RETRY, false, "429");
    reg.end_trials(&key(2), trials, false);
    let trials = trial(3);
    reg.on_failure(&key(3), t1, &p, Failure::Retire, false, "401");
    reg.end_trials(&key(3), trials, false);
    // The request from before the cooldown ends with no verdict: the running trial
    // keeps its slot.
    let _running = trial(4);
    reg.end_trials(&key(9), before, true);
    assert!(!reg.read(|t| t.channel_available("a", t1)), "still one trial at a time");
    // A success closes it.
    reg.on_success(&key(4), &p);
    assert_eq!(reg.report_channel("a", t1).state, State::Up);
}
