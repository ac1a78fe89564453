//! Message commands: queryMsgById, queryMsgByKey, queryMsgByOffset, sendMessage,
//! consumeMessage.

use apogee_client::{
    Admin, ClientConfig, Message, MessageExt, MessageQueue, Producer, ProducerConfig, PullStatus,
    SendStatus,
};
use clap::Args;
use serde_json::json;

use super::table::Table;
use super::{Report, human_time, parse_time};

/// Everything known about one message, as lines and as JSON.
fn detail(m: &MessageExt) -> (String, serde_json::Value) {
    let body = String::from_utf8_lossy(&m.body);
    let lines = [
        ("Message ID", m.msg_id.clone()),
        ("OffsetID", m.offset_msg_id.clone()),
        ("Topic", m.topic.clone()),
        ("Tags", format!("[{}]", m.tags().unwrap_or_default())),
        ("Keys", format!("[{}]", m.keys().unwrap_or_default())),
        ("Broker Name", m.broker_name.clone()),
        ("Queue ID", m.queue_id.to_string()),
        ("Queue Offset", m.queue_offset.to_string()),
        ("CommitLog Offset", m.commit_log_offset.to_string()),
        ("Reconsume Times", m.reconsume_times.to_string()),
        ("Born Timestamp", human_time(m.born_timestamp)),
        ("Store Timestamp", human_time(m.store_timestamp)),
        ("Born Host", m.born_host.to_string()),
        ("Store Host", m.store_host.to_string()),
        ("System Flag", m.sys_flag.to_string()),
        ("Properties", format!("{:?}", m.properties)),
        ("Body Length", m.body.len().to_string()),
        ("Body", body.to_string()),
    ];
    let human: String = lines
        .iter()
        .map(|(k, v)| format!("{:<20}{v}\n", format!("{k}:")))
        .collect();
    let json = json!({
        "msgId": m.msg_id,
        "offsetMsgId": m.offset_msg_id,
        "topic": m.topic,
        "tags": m.tags(),
        "keys": m.keys(),
        "brokerName": m.broker_name,
        "queueId": m.queue_id,
        "queueOffset": m.queue_offset,
        "commitLogOffset": m.commit_log_offset,
        "reconsumeTimes": m.reconsume_times,
        "bornTimestamp": m.born_timestamp,
        "storeTimestamp": m.store_timestamp,
        "bornHost": m.born_host.to_string(),
        "storeHost": m.store_host.to_string(),
        "sysFlag": m.sys_flag,
        "properties": m.properties,
        "body": body,
    });
    (human, json)
}

fn details(found: &[MessageExt]) -> Report {
    let (human, json): (Vec<String>, Vec<serde_json::Value>) = found.iter().map(detail).unzip();
    Report::new(human.join("\n"), json!({ "messages": json }))
}

#[derive(Args)]
pub struct QueryMsgById {
    /// Message id(s), comma separated: offset message ids, or client ids (UNIQ_KEY) with -t.
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// Topic, needed to look a client message id up.
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
    /// With -d: the consumer group whose client should consume the message(s) directly.
    #[arg(short = 'g', long = "consumerGroup", requires = "client_id")]
    group: Option<String>,
    /// With -g: the client id (see consumerConnection) that runs its listener on them.
    #[arg(short = 'd', long = "clientId", requires = "group")]
    client_id: Option<String>,
}

impl QueryMsgById {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let ids: Vec<&str> = self
            .msg_id
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect();
        if let (Some(group), Some(client_id)) = (&self.group, &self.client_id) {
            return consume_directly(admin, (group, client_id), self.topic.as_deref(), &ids).await;
        }
        let mut found = Vec::new();
        for id in ids {
            let messages = admin.query_message_by_id(self.topic.as_deref(), id).await?;
            if messages.is_empty() {
                anyhow::bail!(
                    "no message with id {id} in topic {}: check the id and topic (queryMsgByKey finds messages by key)",
                    self.topic.as_deref().unwrap_or("-")
                );
            }
            found.extend(messages);
        }
        Ok(details(&found))
    }
}

/// Has one client of a group run its listener on each message (`-g -d`), printed as mqadmin
/// prints `ConsumeMessageDirectlyResult`.
async fn consume_directly(
    admin: &Admin,
    (group, client_id): (&str, &str),
    topic: Option<&str>,
    ids: &[&str],
) -> anyhow::Result<Report> {
    let mut human = String::new();
    let mut json = Vec::new();
    for id in ids {
        let r = admin
            .consume_message_directly(group, client_id, topic, id)
            .await?;
        human.push_str(&format!(
            "ConsumeMessageDirectlyResult [order={}, autoCommit={}, consumeResult={}, remark={}, spentTimeMills={}]\n",
            r.order,
            r.auto_commit,
            serde_json::to_value(r.consume_result)?.as_str().unwrap_or_default(),
            r.remark.as_deref().unwrap_or("null"),
            r.spent_time_mills
        ));
        json.push(json!({ "msgId": id, "result": r }));
    }
    Ok(Report::new(human, json!({ "results": json })))
}

#[derive(Args)]
pub struct QueryMsgByUniqueKey {
    /// The client message id (UNIQ_KEY).
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// With -d: the consumer group whose client should consume the message directly.
    #[arg(short = 'g', long = "consumerGroup", requires = "client_id")]
    group: Option<String>,
    /// With -g: the client id that runs its listener on it.
    #[arg(short = 'd', long = "clientId", requires = "group")]
    client_id: Option<String>,
    /// Every stored copy (a retried message is stored again), not only the first.
    #[arg(short = 'a', long = "showAll")]
    show_all: bool,
}

impl QueryMsgByUniqueKey {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        if let (Some(group), Some(client_id)) = (&self.group, &self.client_id) {
            return consume_directly(
                admin,
                (group, client_id),
                Some(&self.topic),
                &[&self.msg_id],
            )
            .await;
        }
        let mut found = admin
            .query_message_by_unique_key(&self.topic, &self.msg_id)
            .await?;
        anyhow::ensure!(
            !found.is_empty(),
            "no message with unique key {} in topic {}",
            self.msg_id,
            self.topic
        );
        if !self.show_all {
            found.truncate(1);
        }
        Ok(details(&found))
    }
}

#[derive(Args)]
pub struct QueryMsgByKey {
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'k', long = "msgKey")]
    key: String,
    /// Stored at or after (`now`, ms, or yyyy-MM-dd#HH:mm:ss:SSS) [default: the beginning].
    #[arg(short = 'b', long = "beginTimestamp", value_parser = parse_time, default_value = "0")]
    begin: i64,
    /// Stored at or before [default: no limit].
    #[arg(short = 'e', long = "endTimestamp", value_parser = parse_time)]
    end: Option<i64>,
}

impl QueryMsgByKey {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let found = admin
            .query_message_by_key(
                &self.topic,
                &self.key,
                self.begin,
                self.end.unwrap_or(i64::MAX),
            )
            .await?;
        let mut table = Table::new(&["Message ID", "Broker Name", "QID", "Offset", "Store Time"]);
        let mut rows = Vec::new();
        for m in &found {
            table.row(vec![
                m.msg_id.clone(),
                m.broker_name.clone(),
                m.queue_id.to_string(),
                m.queue_offset.to_string(),
                human_time(m.store_timestamp),
            ]);
            rows.push(detail(m).1);
        }
        Ok(Report::new(table.render(), json!({ "messages": rows })))
    }
}

#[derive(Args)]
pub struct QueryMsgByOffset {
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
    #[arg(short = 'i', long = "queueId")]
    queue_id: i32,
    #[arg(short = 'o', long = "offset")]
    offset: i64,
}

impl QueryMsgByOffset {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let queue = MessageQueue {
            topic: self.topic.clone(),
            broker_name: self.broker_name.clone(),
            queue_id: self.queue_id,
        };
        let found = admin.message_at(&queue, self.offset).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "no message at offset {} of {}/{}/{}: `topicStatus -t {}` shows each queue's offsets",
                self.offset,
                self.topic,
                self.broker_name,
                self.queue_id,
                self.topic
            )
        })?;
        Ok(details(&[found]))
    }
}

#[derive(Args)]
pub struct SendMessage {
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message body.
    #[arg(short = 'p', long = "body")]
    body: String,
    #[arg(short = 'k', long = "keys")]
    keys: Option<String>,
    #[arg(short = 'c', long = "tags")]
    tags: Option<String>,
    /// Send to this broker (with -i).
    #[arg(short = 'b', long = "broker", requires = "queue_id")]
    broker_name: Option<String>,
    /// Send to this queue (with -b).
    #[arg(short = 'i', long = "qid", requires = "broker_name")]
    queue_id: Option<i32>,
    #[arg(long = "producerGroup", default_value = "TOOLS_PRODUCER")]
    group: String,
}

impl SendMessage {
    pub async fn run(self, client: &ClientConfig) -> anyhow::Result<Report> {
        let producer = Producer::start(client.clone(), ProducerConfig::new(&self.group)).await?;
        let mut msg = Message::new(&self.topic, self.body.clone().into_bytes());
        if let Some(tags) = &self.tags {
            msg = msg.with_tags(tags);
        }
        if let Some(keys) = &self.keys {
            msg = msg.with_keys(keys.split(' '));
        }
        let sent = match (&self.broker_name, self.queue_id) {
            (Some(b), Some(q)) => {
                let queue = MessageQueue {
                    topic: self.topic.clone(),
                    broker_name: b.clone(),
                    queue_id: q,
                };
                producer.send_to_queue(msg, &queue).await
            }
            _ => producer.send(msg).await,
        };
        producer.shutdown().await;
        let sent = sent?;
        let status = match sent.status {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        };
        let mut table = Table::new(&["Broker Name", "QID", "Send Result", "MsgId"]);
        table.row(vec![
            sent.queue.broker_name.clone(),
            sent.queue.queue_id.to_string(),
            status.into(),
            sent.msg_id.clone(),
        ]);
        Ok(Report::new(
            table.render(),
            json!({
                "brokerName": sent.queue.broker_name,
                "queueId": sent.queue.queue_id,
                "queueOffset": sent.queue_offset,
                "sendStatus": status,
                "msgId": sent.msg_id,
                "offsetMsgId": sent.offset_msg_id,
            }),
        ))
    }
}

#[derive(Args)]
pub struct ConsumeMessage {
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only this broker's queues.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    /// Only this queue (with -b).
    #[arg(short = 'i', long = "queueId", requires = "broker_name")]
    queue_id: Option<i32>,
    /// Start at this offset [default: each queue's first message].
    #[arg(short = 'o', long = "offset")]
    offset: Option<i64>,
    /// Start at the first message stored at or after this time (`now`, ms, yyyy-MM-dd#HH:mm:ss:SSS).
    #[arg(short = 's', long = "beginTimestamp", value_parser = parse_time, conflicts_with = "offset")]
    begin: Option<i64>,
    /// Stop at messages stored after this time.
    #[arg(short = 'e', long = "endTimestamp", value_parser = parse_time)]
    end: Option<i64>,
    /// At most this many messages.
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128)]
    count: usize,
}

impl ConsumeMessage {
    pub async fn run(self, admin: &Admin) -> anyhow::Result<Report> {
        let route = admin.topic_route(&self.topic).await?;
        let mut queues = Vec::new();
        for q in &route.queue_datas {
            if self
                .broker_name
                .as_deref()
                .is_some_and(|b| b != q.broker_name.as_str())
            {
                continue;
            }
            let Some(addr) = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == q.broker_name)
                .and_then(|b| b.broker_addrs.get(&0).cloned())
            else {
                continue;
            };
            for id in 0..q.read_queue_nums {
                if self.queue_id.is_none_or(|want| want == id) {
                    let queue = MessageQueue {
                        topic: self.topic.clone(),
                        broker_name: q.broker_name.to_string(),
                        queue_id: id,
                    };
                    queues.push((queue, addr.clone()));
                }
            }
        }
        if queues.is_empty() {
            anyhow::bail!(
                "no such queue in the route of {}: `topicRoute -t {}` shows its brokers and queues",
                self.topic,
                self.topic
            );
        }
        let end = self.end.unwrap_or(i64::MAX);
        let mut found = Vec::new();
        'queues: for (queue, addr) in &queues {
            let mut offset = match (self.offset, self.begin) {
                (Some(o), _) => o,
                (None, Some(t)) => admin.instance().search_offset(addr, queue, t).await?,
                (None, None) => admin.instance().min_offset(addr, queue).await?,
            };
            loop {
                let want = i32::try_from(self.count - found.len())
                    .unwrap_or(32)
                    .min(32);
                let pulled = admin.pull_from(queue, offset, want).await?;
                match pulled.status {
                    PullStatus::Found => {}
                    PullStatus::OffsetIllegal if pulled.next_begin_offset != offset => {
                        offset = pulled.next_begin_offset;
                        continue;
                    }
                    _ => continue 'queues,
                }
                for m in pulled.messages {
                    if m.store_timestamp > end {
                        continue 'queues;
                    }
                    found.push(m);
                    if found.len() >= self.count {
                        break 'queues;
                    }
                }
                if pulled.next_begin_offset <= offset {
                    continue 'queues;
                }
                offset = pulled.next_begin_offset;
            }
        }
        let mut table = Table::new(&[
            "Broker Name",
            "QID",
            "Offset",
            "Store Time",
            "Tags",
            "Keys",
            "Body",
        ]);
        let mut rows = Vec::new();
        for m in &found {
            let body = String::from_utf8_lossy(&m.body);
            let short: String = body.chars().take(64).collect();
            table.row(vec![
                m.broker_name.clone(),
                m.queue_id.to_string(),
                m.queue_offset.to_string(),
                human_time(m.store_timestamp),
                m.tags().unwrap_or_default().to_owned(),
                m.keys().unwrap_or_default().to_owned(),
                short,
            ]);
            rows.push(detail(m).1);
        }
        Ok(Report::new(table.render(), json!({ "messages": rows })))
    }
}
