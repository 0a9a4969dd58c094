//! Checklists and the rectification ledger (排查清单与问题整改台账). So far: the
//! checklist templates of seeds 002 and 003 ([`checklist`]); campaigns, entries and
//! reports come with the ledger itself.

pub mod checklist;
