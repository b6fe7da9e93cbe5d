//! Which pushed ops the server lets in, in seq order (DESIGN §4): pure checks over the op, the
//! pushing device, what the server stored for the op id before and the next seq it expects.
//! The server runs them inside its push transaction; exactly-once rests on them.

use uuid::Uuid;

use super::{op::Op, protocol::OpResult};

/// The refusals decided before an op takes its seq: the server stores nothing of the op.
pub const UNPLACED: [&str; 5] = [
    "checksum",
    "device",
    "seq_reused",
    "seq_gap",
    "op_id_reused",
];

/// What admission decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Admit {
    /// Answered without a place in the device's sequence (nothing is stored).
    Refuse(OpResult),
    /// Seen before with the same payload: answer what was answered the first time.
    Duplicate,
    /// The op takes its seq; the expected seq moved on.
    Place,
}

/// `stored_hash`: the payload hash the server holds for this op id, if it saw it before.
/// `next_seq`: the seq the device's next new op must carry; advanced when the op takes it.
pub fn admit(op: &Op, device_id: Uuid, stored_hash: Option<&str>, next_seq: &mut i64) -> Admit {
    let id = op.body.op_id;
    if !op.checksum_ok() {
        return Admit::Refuse(OpResult::rejected(
            id,
            400,
            "checksum",
            "La operación llegó alterada (checksum).",
        ));
    }
    if op.body.device_id != device_id {
        return Admit::Refuse(OpResult::rejected(
            id,
            403,
            "device",
            "La operación es de otro dispositivo.",
        ));
    }
    if let Some(hash) = stored_hash {
        return if hash == op.payload_hash() {
            Admit::Duplicate
        } else {
            Admit::Refuse(reused(id))
        };
    }
    let seq = i64::try_from(op.body.seq).unwrap_or(i64::MAX);
    if seq < *next_seq {
        return Admit::Refuse(OpResult::rejected(
            id,
            409,
            "seq_reused",
            "Ese número de secuencia ya se usó.",
        ));
    }
    if seq > *next_seq {
        return Admit::Refuse(OpResult::rejected(
            id,
            409,
            "seq_gap",
            format!("Faltan operaciones anteriores (se esperaba la {next_seq})."),
        ));
    }
    *next_seq += 1;
    Admit::Place
}

/// An op id that arrived before with another payload.
pub fn reused(op_id: Uuid) -> OpResult {
    OpResult::rejected(
        op_id,
        409,
        "op_id_reused",
        "Ya llegó otra operación con este id y contenido distinto.",
    )
}

/// The first release's ops carry no signature: only their author can vouch for them (the
/// session pushing them is theirs); anyone else's push holds them for a manager.
pub fn unsigned_hold(unsigned: bool, author: Uuid, pusher: Uuid) -> Option<&'static str> {
    (unsigned && author != pusher).then_some(
        "Operación sin firma de una versión anterior, enviada por otra persona: un gerente debe aceptarla o descartarla.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn op(device: Uuid, seq: u64) -> Op {
        crate::sync::op::test_op(device, seq)
    }

    fn code(admit: Admit) -> String {
        match admit {
            Admit::Refuse(OpResult::Rejected { code, .. }) => code,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn seqs_are_taken_in_order_and_gaps_and_reuses_refused_without_moving() {
        let device = id(1);
        let mut next = 1;
        assert_eq!(admit(&op(device, 1), device, None, &mut next), Admit::Place);
        assert_eq!(next, 2);
        assert_eq!(
            code(admit(&op(device, 1), device, None, &mut next)),
            "seq_reused"
        );
        assert_eq!(
            code(admit(&op(device, 3), device, None, &mut next)),
            "seq_gap"
        );
        assert_eq!(next, 2);
        let other = id(2);
        assert_eq!(
            code(admit(&op(other, 2), device, None, &mut next)),
            "device"
        );
        assert_eq!(next, 2);
    }

    #[test]
    fn a_seen_op_is_a_duplicate_only_with_the_same_payload_and_never_takes_a_seq() {
        let device = id(1);
        let sent = op(device, 5);
        let mut next = 9;
        let hash = sent.payload_hash();
        assert_eq!(
            admit(&sent, device, Some(&hash), &mut next),
            Admit::Duplicate
        );
        assert_eq!(
            code(admit(&sent, device, Some("otro"), &mut next)),
            "op_id_reused"
        );
        let mut tampered = sent.clone();
        tampered.body.seq = 9;
        assert_eq!(code(admit(&tampered, device, None, &mut next)), "checksum");
        assert_eq!(next, 9);
    }

    #[test]
    fn every_refusal_of_admission_is_unplaced_and_every_other_answer_took_place() {
        let device = id(1);
        let sent = op(device, 5);
        let mut tampered = sent.clone();
        tampered.body.seq = 9;
        let hash = sent.payload_hash();
        let refusals = [
            admit(&tampered, device, None, &mut 5),
            admit(&sent, id(2), None, &mut 5),
            admit(&sent, device, Some("otro"), &mut 5),
            admit(&sent, device, None, &mut 9),
            admit(&sent, device, None, &mut 2),
        ];
        let mut codes = Vec::new();
        for refusal in refusals {
            let Admit::Refuse(result) = refusal else {
                panic!("refused: {refusal:?}");
            };
            assert!(!result.took_place(), "{result:?}");
            codes.push(code(Admit::Refuse(result)));
        }
        codes.sort();
        let mut unplaced = UNPLACED.map(str::to_owned).to_vec();
        unplaced.sort();
        assert_eq!(codes, unplaced, "each admission refusal is listed once");
        assert_eq!(admit(&sent, device, Some(&hash), &mut 5), Admit::Duplicate);
        assert!(OpResult::rejected(sent.body.op_id, 403, "firma_invalida", "x").took_place());
        assert!(OpResult::rejected(sent.body.op_id, 422, "invalid", "x").took_place());
    }

    #[test]
    fn only_another_persons_unsigned_op_is_held() {
        let (a, b) = (id(3), id(4));
        assert!(unsigned_hold(true, a, b).is_some());
        assert!(unsigned_hold(true, a, a).is_none());
        assert!(unsigned_hold(false, a, b).is_none());
    }
}
