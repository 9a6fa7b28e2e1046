// QMP
