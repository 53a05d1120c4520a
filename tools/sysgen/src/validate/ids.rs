//! Partition ids: numbered core by core.
//!
//! Each core's kernel keeps the state of its own partitions only, in one
//! array, so the tables need each core's partitions to hold consecutive ids
//! (`CoreDesc::first_partition..+partition_count`). Validation builds the
//! partitions in description order; [`number_core_by_core`] then orders
//! them stably by core (core 0's in description order, then core 1's, ...)
//! and remaps every partition index the model holds.
//!
//! It must never check anything: it runs on a valid system only. Any new
//! partition index in the model must be remapped here.

use crate::model::*;

/// Orders `system.partitions` by (core, description order) and rewrites
/// every reference to a partition index: windows, VIRTIO links, channels
/// and the monitor.
pub(super) fn number_core_by_core(system: &mut System) {
    let mut order: Vec<usize> = (0..system.partitions.len()).collect();
    order.sort_by_key(|&index| system.partitions[index].core);
    // new_id[old index] = new index.
    let mut new_id = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_id[old] = new;
    }
    let mut old_partitions: Vec<Option<Partition>> =
        std::mem::take(&mut system.partitions).into_iter().map(Some).collect();
    system.partitions = order.iter().map(|&old| old_partitions[old].take().expect("each index once")).collect();
    for schedule in &mut system.schedules {
        for window in &mut schedule.windows {
            if let Some(partition) = &mut window.partition {
                *partition = new_id[*partition];
            }
        }
    }
    for link in &mut system.virtio {
        link.partition = new_id[link.partition];
    }
    for channel in &mut system.channels {
        channel.writer = new_id[channel.writer];
        for reader in &mut channel.readers {
            reader.partition = new_id[reader.partition];
        }
    }
    if let Some(monitor) = &mut system.monitor {
        monitor.partition = new_id[monitor.partition];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn system() -> System {
        let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        crate::validate::load(&ws.join("partitions/systems/demo.toml"), &ws.join("boards")).expect("the demo")
    }

    #[test]
    fn partitions_are_numbered_core_by_core_and_references_follow() {
        let mut system = system();
        assert!(system.partitions.len() >= 3, "the demo has at least three partitions");
        // Put the first and third partitions on core 1, as if described so.
        let names: Vec<String> = system.partitions.iter().map(|p| p.name.clone()).collect();
        system.partitions[0].core = 1;
        system.partitions[2].core = 1;
        let window_owners = |system: &System| -> Vec<Option<String>> {
            system.schedules[0].windows.iter().map(|w| w.partition.map(|p| system.partitions[p].name.clone())).collect()
        };
        let links = |system: &System| -> Vec<String> {
            system.virtio.iter().map(|l| system.partitions[l.partition].name.clone()).collect()
        };
        let (windows, virtio) = (window_owners(&system), links(&system));
        number_core_by_core(&mut system);
        let mut expected: Vec<String> =
            names.iter().enumerate().filter(|(i, _)| ![0, 2].contains(i)).map(|(_, n)| n.clone()).collect();
        expected.extend([names[0].clone(), names[2].clone()]);
        let now: Vec<String> = system.partitions.iter().map(|p| p.name.clone()).collect();
        assert_eq!(now, expected);
        assert!(system.partitions.windows(2).all(|pair| pair[0].core <= pair[1].core));
        // Every reference still names the same partition.
        assert_eq!(window_owners(&system), windows);
        assert_eq!(links(&system), virtio);
        assert_eq!(system.core_partitions(0), 0..names.len() - 2);
        assert_eq!(system.core_partitions(1), names.len() - 2..names.len());
    }

    #[test]
    fn one_core_keeps_description_order() {
        let mut system = system();
        let before: Vec<String> = system.partitions.iter().map(|p| p.name.clone()).collect();
        number_core_by_core(&mut system);
        let after: Vec<String> = system.partitions.iter().map(|p| p.name.clone()).collect();
        assert_eq!(before, after);
    }
}
