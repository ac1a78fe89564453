//! `haStatus` (mqadmin's name): replication of one broker (-b) or of every master of a
//! cluster (-c) — a master's slaves with their acknowledged offsets and lag, or a slave's
//! master, CommitLog end and last read and report times.

use apogee_client::Admin;
use apogee_client::HaRuntimeInfo;
use clap::Args;

use super::table::Table;
use super::{BrokerTarget, Report, human_time};

#[derive(Args)]
pub struct HaStatus {
    #[command(flatten)]
    target: BrokerTarget,
}

impl HaStatus {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let mut human = String::new();
        let mut json = serde_json::Map::new();
        for addr in self.target.addrs(admin).await? {
            let info = admin.broker_ha_status(&addr).await?;
            human.push_str(&render(&addr, &info));
            json.insert(addr, serde_json::to_value(&info)?);
        }
        Ok(Report::new(human, serde_json::Value::Object(json)))
    }
}

fn render(addr: &str, info: &HaRuntimeInfo) -> String {
    if info.master {
        let mut head = Table::new(&[
            "#MasterAddr",
            "#MasterCommitLogMaxOffset",
            "#SlaveNum",
            "#InSyncSlaveNum",
        ]);
        head.row(vec![
            addr.to_owned(),
            info.master_commit_log_max_offset.to_string(),
            info.ha_connection_info.len().to_string(),
            info.in_sync_slave_nums.to_string(),
        ]);
        let mut slaves = Table::new(&[
            "#SlaveAddr",
            "#SlaveAckOffset",
            "#Diff",
            "#TransferSpeed(KB/s)",
            "#Status",
            "#TransferFromWhere",
        ]);
        for c in &info.ha_connection_info {
            slaves.row(vec![
                c.addr.clone(),
                c.slave_ack_offset.to_string(),
                c.diff.to_string(),
                format!("{:.2}", c.transferred_byte_in_second as f64 / 1024.0),
                if c.in_sync { "OK" } else { "Fall Behind" }.to_owned(),
                c.transfer_from_where.to_string(),
            ]);
        }
        format!("{}\n{}", head.render(), slaves.render())
    } else {
        let c = &info.ha_client_runtime_info;
        let mut table = Table::new(&[
            "#MasterAddr",
            "#CommitLogMaxOffset",
            "#TransferSpeed(KB/s)",
            "#LastReadTime",
            "#LastWriteTime",
            "#MasterFlushOffset",
        ]);
        table.row(vec![
            c.master_addr.clone(),
            c.max_offset.to_string(),
            format!("{:.2}", c.transferred_byte_in_second as f64 / 1024.0),
            human_time(c.last_read_timestamp),
            human_time(c.last_write_timestamp),
            c.master_flush_offset.to_string(),
        ]);
        table.render()
    }
}
