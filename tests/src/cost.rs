//! What a daily run costs in dollars: counts measured in the stand-in (per
//! run and per table) priced with a stated price list. Pure, so `make bench`
//! prints it and the tests below check the arithmetic.
//!
//! Prices are AWS's public on-demand list prices for us-east-1 (N. Virginia),
//! free tiers left out; other Regions differ by up to about a third.

/// One price list.
#[derive(Debug, Clone, Copy)]
pub struct Prices {
    pub region: &'static str,
    /// Step Functions standard workflow, per state transition.
    pub transition: f64,
    /// Lambda (x86_64), per request and per GB-second.
    pub lambda_request: f64,
    pub lambda_gb_second: f64,
    /// Athena SQL, per byte scanned, and the minimum bytes billed per query.
    pub athena_byte: f64,
    pub athena_min_bytes_per_query: f64,
    /// S3 Standard: PUT, COPY, POST, LIST (and DELETE is free), GET and others.
    pub s3_write_or_list: f64,
    pub s3_read: f64,
    /// Glue Data Catalog, per request (beyond the first million a month).
    pub glue_request: f64,
    /// Glue crawler and Spark ETL job, per DPU-hour.
    pub glue_dpu_hour: f64,
}

const TB: f64 = 1e12;
const MB: f64 = 1e6;

/// us-east-1's list prices: Step Functions', Lambda's requests and Athena's
/// from the run's own price list (`snaplake::cost::Prices`, what each run's
/// manifest is priced with), the rest here.
pub fn us_east_1() -> Prices {
    let run = snaplake::cost::Prices::default();
    Prices {
        region: "us-east-1",
        transition: run.step_functions_per_1000_transitions / 1000.0,
        lambda_request: run.lambda_per_million_requests / 1e6,
        lambda_gb_second: 0.000_016_666_7,
        athena_byte: run.athena_per_tb / TB,
        athena_min_bytes_per_query: run.athena_min_mb_per_query as f64 * MB,
        s3_write_or_list: 0.005 / 1000.0,
        s3_read: 0.0004 / 1000.0,
        glue_request: 1.0 / 1e6,
        glue_dpu_hour: 0.44,
    }
}

/// What one daily run does, as counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub transitions: f64,
    pub lambda_requests: f64,
    pub lambda_gb_seconds: f64,
    pub athena_queries: f64,
    /// Bytes scanned, before the per-query minimum.
    pub athena_bytes: f64,
    pub s3_write_or_list: f64,
    pub s3_read: f64,
    pub glue_requests: f64,
}

impl Usage {
    /// `fixed + per_table × tables`, field by field: a run's usage grows
    /// linearly with its tables (BENCHMARKS.md measures the two terms).
    pub fn at(fixed: &Usage, per_table: &Usage, tables: f64) -> Usage {
        fixed.combine(per_table, |a, b| a + b * tables)
    }

    /// `f` applied field by field to this usage and `other`.
    pub fn combine(&self, other: &Usage, f: impl Fn(f64, f64) -> f64) -> Usage {
        Usage {
            transitions: f(self.transitions, other.transitions),
            lambda_requests: f(self.lambda_requests, other.lambda_requests),
            lambda_gb_seconds: f(self.lambda_gb_seconds, other.lambda_gb_seconds),
            athena_queries: f(self.athena_queries, other.athena_queries),
            athena_bytes: f(self.athena_bytes, other.athena_bytes),
            s3_write_or_list: f(self.s3_write_or_list, other.s3_write_or_list),
            s3_read: f(self.s3_read, other.s3_read),
            glue_requests: f(self.glue_requests, other.glue_requests),
        }
    }
}

/// Dollars by service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bill {
    pub step_functions: f64,
    pub lambda: f64,
    pub athena: f64,
    pub s3: f64,
    pub glue: f64,
}

impl Bill {
    pub fn total(&self) -> f64 {
        self.step_functions + self.lambda + self.athena + self.s3 + self.glue
    }
}

/// A snaplake run's bill. Athena bills each query at least its minimum, so
/// many small tables cost more than their bytes say.
pub fn snaplake(u: &Usage, p: &Prices) -> Bill {
    let billed_bytes = u.athena_bytes.max(u.athena_queries * p.athena_min_bytes_per_query);
    Bill {
        step_functions: u.transitions * p.transition,
        lambda: u.lambda_requests * p.lambda_request + u.lambda_gb_seconds * p.lambda_gb_second,
        athena: billed_bytes * p.athena_byte,
        s3: u.s3_write_or_list * p.s3_write_or_list + u.s3_read * p.s3_read,
        glue: u.glue_requests * p.glue_request,
    }
}

/// The hand-built design at the smallest bill AWS's billing allows: one
/// crawler run over the export (billed per second, at least 10 minutes) and
/// one Spark ETL job (at least 2 DPUs, billed per second, at least 1 minute
/// since Glue 2.0). `crawler_dpus`: a crawler's DPUs are not chosen by the
/// user; its run history reports them. Real runs over thousands of tables
/// last longer than these minimums, so this is a floor, not an estimate.
pub fn glue_design_floor(crawler_dpus: f64, p: &Prices) -> Bill {
    let crawler = crawler_dpus * (10.0 / 60.0) * p.glue_dpu_hour;
    let job = 2.0 * (1.0 / 60.0) * p.glue_dpu_hour;
    Bill {
        step_functions: 0.0,
        lambda: 0.0,
        athena: 0.0,
        s3: 0.0,
        glue: crawler + job,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn each_service_is_priced_by_its_own_unit() {
        let u = Usage {
            transitions: 1000.0,
            lambda_requests: 1e6,
            lambda_gb_seconds: 1.0,
            athena_queries: 1.0,
            athena_bytes: TB,
            s3_write_or_list: 1000.0,
            s3_read: 1000.0,
            glue_requests: 1e6,
        };
        let bill = snaplake(&u, &us_east_1());
        assert!(close(bill.step_functions, 0.025));
        assert!(close(bill.lambda, 0.20 + 0.000_016_666_7));
        assert!(close(bill.athena, 5.0));
        assert!(close(bill.s3, 0.005 + 0.0004));
        assert!(close(bill.glue, 1.0));
        assert!(close(bill.total(), 0.025 + 0.20 + 0.000_016_666_7 + 5.0 + 0.0054 + 1.0));
    }

    #[test]
    fn a_small_query_is_billed_its_ten_megabytes() {
        let u = Usage {
            athena_queries: 2.0,
            athena_bytes: 1.0,
            ..Usage::default()
        };
        assert!(close(snaplake(&u, &us_east_1()).athena, 20.0 * MB * 5.0 / TB));
    }

    #[test]
    fn usage_grows_linearly_with_tables() {
        // The fixed part and the per-table part of the 2026-12-02 run.
        let fixed = Usage {
            transitions: 14.0,
            lambda_requests: 8.0,
            ..Usage::default()
        };
        let per = Usage {
            transitions: 8.0,
            lambda_requests: 4.5,
            ..Usage::default()
        };
        let at = Usage::at(&fixed, &per, 10_000.0);
        assert_eq!(at.transitions, 80_014.0);
        assert_eq!(at.lambda_requests, 45_008.0);
    }

    #[test]
    fn the_glue_floor_is_ten_crawler_minutes_and_one_minute_of_two_dpus() {
        let bill = glue_design_floor(2.0, &us_east_1());
        assert!(close(bill.total(), 2.0 * 0.44 / 6.0 + 2.0 * 0.44 / 60.0));
    }
}
